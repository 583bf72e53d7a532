"""The queued sinks: the shared worker queue, the database sink and the HTTP JSON sink."""

import json
import logging
import sys
import threading

import pytest
from django.apps import apps
from django.db import transaction

from assistant import logging_db
from assistant.logging_db import DatabaseHandler
from assistant.logging_http import USER_AGENT, HttpJsonHandler
from assistant.logging_queue import QueuedSinkHandler
from assistant.logging_sentry import redact_event
from assistant.models import LogRecord
from tests.fakes.log_collector import LogCollector

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


class MemorySink(QueuedSinkHandler):
  """Collects batches; `gate` (when set) holds the worker inside write_batch."""

  def __init__(self, **options) -> None:
    super().__init__(**options)
    self.batches: list[list[dict]] = []
    self.entered = threading.Event()
    self.gate: threading.Event | None = None
    self.fail = False

  def write_batch(self, batch: list[dict]) -> None:
    self.entered.set()
    if self.gate is not None:
      self.gate.wait(5)
    if self.fail:
      raise OSError("sink down")
    self.batches.append(batch)


@pytest.fixture
def sink_logger():
  """A private logger; handlers added in a test are closed and removed afterwards."""
  logger = logging.getLogger("tests.sinks")
  logger.propagate = False
  logger.setLevel(logging.DEBUG)
  yield logger
  for handler in logger.handlers[:]:
    logger.removeHandler(handler)
    handler.close()
  logger.propagate = True


def attach(logger: logging.Logger, handler: logging.Handler) -> logging.Handler:
  logger.addHandler(handler)
  return handler


def test_records_arrive_in_batches_and_redacted(sink_logger, settings):
  # given
  settings.TELEGRAM_BOT_TOKEN = TOKEN
  sink = attach(sink_logger, MemorySink(batch_size=2, flush_interval=5.0))

  # when
  for number in range(5):
    sink_logger.info("message %d via /bot%s/getMe", number, TOKEN)
  assert sink.flush(timeout=5)

  # then
  messages = [item["message"] for batch in sink.batches for item in batch]
  assert messages == [f"message {n} via /bot[REDACTED]/getMe" for n in range(5)]
  assert [len(batch) for batch in sink.batches][:2] == [2, 2]
  first = sink.batches[0][0]
  assert (first["level"], first["level_no"], first["logger"]) == ("INFO", 20, "tests.sinks")
  assert first["function"] == "test_records_arrive_in_batches_and_redacted"
  assert (sink.dropped, sink.failed) == (0, 0)


def test_full_queue_drops_and_counts_instead_of_blocking(sink_logger):
  # given a worker stuck writing the first record
  sink = attach(sink_logger, MemorySink(queue_size=2, batch_size=1))
  sink.gate = threading.Event()
  sink_logger.warning("first")
  assert sink.entered.wait(5)

  # when
  for number in range(4):
    sink_logger.warning("more %d", number)

  # then two fit in the queue, two are dropped; nothing waited
  assert sink.dropped == 2
  sink.gate.set()
  assert sink.flush(timeout=5)
  assert [batch[0]["message"] for batch in sink.batches] == ["first", "more 0", "more 1"]


def test_flush_gives_up_after_its_timeout(sink_logger):
  sink = attach(sink_logger, MemorySink(batch_size=1))
  sink.gate = threading.Event()
  sink_logger.warning("stuck")
  assert sink.entered.wait(5)

  assert sink.flush(timeout=0.05) is False

  sink.gate.set()


def test_flush_with_a_full_queue_returns_false(sink_logger):
  sink = attach(sink_logger, MemorySink(queue_size=1, batch_size=1))
  sink.gate = threading.Event()
  sink_logger.warning("stuck")
  assert sink.entered.wait(5)
  sink_logger.warning("queued")

  assert sink.flush(timeout=0.05) is False

  sink.gate.set()


def test_failed_writes_are_counted_not_raised(sink_logger):
  sink = attach(sink_logger, MemorySink(batch_size=10, flush_interval=0.01))
  sink.fail = True

  sink_logger.error("one")
  sink_logger.error("two")
  assert sink.flush(timeout=5)

  assert (sink.failed, sink.batches) == (2, [])


def test_a_record_that_cannot_be_read_is_counted(sink_logger):
  sink = MemorySink()
  record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
  record.created = None  # type: ignore[assignment]

  sink.handle(record)

  assert sink.failed == 1
  assert sink._thread is None


def test_records_logged_by_the_worker_itself_are_ignored(sink_logger):
  # given a sink whose writing logs to the same logger (as Django's SQL debug log would)
  class ChattySink(MemorySink):
    def write_batch(self, batch: list[dict]) -> None:
      sink_logger.warning("written %d", len(batch))
      super().write_batch(batch)

  sink = attach(sink_logger, ChattySink(flush_interval=0.01))

  # when
  sink_logger.warning("only one")
  assert sink.flush(timeout=5)
  assert sink.flush(timeout=5)

  # then
  assert [[item["message"] for item in batch] for batch in sink.batches] == [["only one"]]


def test_close_writes_what_is_queued_and_stops_the_worker(sink_logger):
  sink = attach(sink_logger, MemorySink(batch_size=100, flush_interval=10.0))
  sink_logger.warning("a")
  sink_logger.warning("b")
  thread = sink._thread

  sink.close()

  assert [item["message"] for item in sink.batches[0]] == ["a", "b"]
  assert not thread.is_alive()
  assert sink._thread is None


def test_close_gives_up_on_a_stuck_sink_instead_of_hanging(sink_logger):
  # given a worker stuck in a write and a full queue
  sink = attach(sink_logger, MemorySink(queue_size=1, batch_size=1))
  sink.close_timeout = 0.05
  sink.gate = threading.Event()
  sink_logger.warning("stuck")
  assert sink.entered.wait(5)
  sink_logger.warning("queued")

  # when
  sink.close()

  # then
  assert sink._thread is None
  sink.gate.set()


def test_a_batch_is_written_when_the_flush_interval_passes(sink_logger):
  sink = attach(sink_logger, MemorySink(batch_size=100, flush_interval=0.05))

  sink_logger.warning("alone")

  assert sink.entered.wait(5)
  assert [item["message"] for item in sink.batches[0]] == ["alone"]


def test_close_and_flush_without_a_worker_are_harmless():
  sink = MemorySink()

  assert sink.flush() is True
  sink.close()

  assert sink.batches == []


def test_base_handler_requires_write_batch():
  with pytest.raises(NotImplementedError):
    QueuedSinkHandler().write_batch([])


def test_a_forked_child_starts_its_own_worker(sink_logger, monkeypatch):
  # given a handler whose worker belongs to another process id
  sink = attach(sink_logger, MemorySink(flush_interval=0.01))
  sink_logger.warning("parent")
  assert sink.flush(timeout=5)
  parent_thread = sink._thread
  monkeypatch.setattr(sink, "_pid", -1)

  # when
  sink_logger.warning("child")
  assert sink.flush(timeout=5)

  # then
  assert sink._thread is not parent_thread
  assert [b[0]["message"] for b in sink.batches] == ["parent", "child"]


@pytest.mark.django_db(transaction=True)
def test_database_sink_writes_rows_outside_the_callers_transaction(sink_logger, settings):
  # given
  settings.TELEGRAM_BOT_TOKEN = TOKEN
  sink = attach(sink_logger, DatabaseHandler(level=logging.INFO, flush_interval=0.01))

  # when a transaction logs and then rolls back
  with pytest.raises(RuntimeError), transaction.atomic():
    try:
      raise RuntimeError(f"Telegram said no to /bot{TOKEN}/sendMessage")
    except RuntimeError:
      sink_logger.exception("send failed for %s", "anna@example.com")
      raise
  sink_logger.debug("below the sink level")
  assert sink.flush(timeout=10)

  # then the log row survived the rollback
  row = LogRecord.objects.get()
  assert (row.level, row.level_name, row.logger_name) == (40, "ERROR", "tests.sinks")
  assert row.message == "send failed for a***@example.com"
  assert "RuntimeError: Telegram said no to /bot[REDACTED]/sendMessage" in row.exception
  assert TOKEN not in row.exception
  assert row.func_name == "test_database_sink_writes_rows_outside_the_callers_transaction"
  assert row.module == "test_logging_sinks"
  assert row.line_no > 0
  assert (sink.dropped, sink.failed) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_database_sink_keeps_long_names_within_columns(sink_logger):
  sink = DatabaseHandler(flush_interval=0.01)
  record = logging.LogRecord("x" * 300, logging.WARNING, "f.py", 0, "m", None, None)

  sink.handle(record)
  assert sink.flush(timeout=10)

  row = LogRecord.objects.get()
  assert (len(row.logger_name), row.line_no) == (200, None)
  sink.close()


def test_database_sink_counts_failures_when_the_database_is_unavailable(sink_logger):
  # pytest-django blocks database access in this test, as an outage would
  sink = attach(sink_logger, DatabaseHandler(flush_interval=0.01))

  sink_logger.error("lost")
  assert sink.flush(timeout=10)

  assert sink.failed == 1


def test_database_sink_waits_for_django_apps(monkeypatch):
  # given apps that become ready a moment later
  monkeypatch.setattr(apps, "ready", False)
  timer = threading.Timer(0.1, lambda: setattr(apps, "ready", True))
  timer.start()

  # when / then: no error
  logging_db._wait_for_apps(5.0)
  assert apps.ready is True


def test_database_sink_gives_up_when_apps_never_get_ready(monkeypatch):
  monkeypatch.setattr(apps, "ready", False)

  with pytest.raises(RuntimeError, match="never became ready"):
    logging_db._wait_for_apps(0.05)


@pytest.fixture
def collector():
  server = LogCollector().start()
  yield server
  server.stop()


def test_http_sink_posts_json_batches_with_the_token(sink_logger, collector, settings):
  # given
  settings.TELEGRAM_BOT_TOKEN = TOKEN
  sink = attach(
    sink_logger,
    HttpJsonHandler(url=collector.url("/logs"), token="collector-t0ken", flush_interval=0.01),
  )

  # when
  sink_logger.warning("token %s", TOKEN)
  sink_logger.error("second")
  assert sink.flush(timeout=10)

  # then
  records = [record for body in collector.bodies("/logs") for record in json.loads(body)]
  assert [record["message"] for record in records] == ["token [REDACTED]", "second"]
  assert records[0]["host"] == sink.host
  assert records[0]["level"] == "WARNING"
  headers = collector.requests[0]["headers"]
  assert headers["authorization"] == "Bearer collector-t0ken"
  assert headers["content-type"] == "application/json"
  assert headers["user-agent"] == USER_AGENT
  assert (sink.sent, sink.failed) == (2, 0)


def test_http_sink_without_token_sends_no_authorization(sink_logger, collector):
  sink = attach(sink_logger, HttpJsonHandler(url=collector.url("/logs"), flush_interval=0.01))

  sink_logger.warning("x")
  assert sink.flush(timeout=10)

  assert "authorization" not in collector.requests[0]["headers"]


def test_http_sink_counts_rejected_and_unreachable_batches(sink_logger, collector):
  # given a collector answering 500, and one that is not there at all
  collector.status = 500
  rejected = HttpJsonHandler(url=collector.url("/logs"), flush_interval=0.01)
  unreachable = HttpJsonHandler(url="http://127.0.0.1:9/logs", timeout=1.0, flush_interval=0.01)
  attach(sink_logger, rejected)
  attach(sink_logger, unreachable)

  # when
  sink_logger.error("lost")
  assert rejected.flush(timeout=10) and unreachable.flush(timeout=10)

  # then
  assert (rejected.sent, rejected.failed) == (0, 1)
  assert (unreachable.sent, unreachable.failed) == (0, 1)


def test_sentry_events_are_redacted_everywhere(settings):
  # given an event shaped like the SDK's, with the token in a breadcrumb URL and a frame variable
  settings.TELEGRAM_BOT_TOKEN = TOKEN
  event = {
    "message": "lead from anna@example.com",
    "level": "error",
    "breadcrumbs": {
      "values": [
        {"category": "httplib", "data": {"url": f"https://api.telegram.org/bot{TOKEN}/getMe"}}
      ]
    },
    "exception": {
      "values": [
        {
          "type": "RuntimeError",
          "value": f"token {TOKEN}",
          "stacktrace": {"frames": [{"lineno": 3, "vars": {"token": f"'{TOKEN}'"}}]},
        }
      ]
    },
    "extra": {"tuple": ("Authorization: Bearer abcdefgh1234", 5)},
  }

  # when
  result = redact_event(event, {"exc_info": sys.exc_info()})

  # then
  dumped = json.dumps(result)
  assert TOKEN not in dumped and "abcdefgh1234" not in dumped
  assert result["message"] == "lead from a***@example.com"
  assert result["breadcrumbs"]["values"][0]["data"]["url"] == (
    "https://api.telegram.org/bot[REDACTED]/getMe"
  )
  assert result["exception"]["values"][0]["value"] == "token [REDACTED]"
  assert result["exception"]["values"][0]["stacktrace"]["frames"][0]["lineno"] == 3
  assert result["extra"]["tuple"] == ["Authorization: Bearer [REDACTED]", 5]
