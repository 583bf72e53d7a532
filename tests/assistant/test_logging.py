"""Redaction, formatting and the LOGGING dict (the sinks themselves: test_logging_sinks.py)."""

import io
import json
import logging
import sys

import pytest
from cryptography.fernet import Fernet

from assistant import logging_redaction
from assistant.log_config import (
  NOISY_LOGGERS,
  LogOptions,
  build_logging_config,
  configure_logging,
  log_file_path,
  sink_descriptions,
)
from assistant.logging_json import JsonFormatter
from assistant.logging_redaction import (
  REDACTED,
  RedactingFilter,
  mask_personal_data,
  redact,
  redact_record,
  register_secret,
)

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


def make_record(level: int, msg: str, *args, exc_info=None) -> logging.LogRecord:
  return logging.LogRecord("tests.logging", level, __file__, 10, msg, args, exc_info)


@pytest.fixture
def clean_registry(monkeypatch):
  monkeypatch.setattr(logging_redaction, "_registered", set())


@pytest.fixture
def restore_logging():
  """configure_logging replaces the root handlers; put the test session's logging back."""
  root = logging.getLogger()
  handlers, level = root.handlers[:], root.level
  levels = {name: logging.getLogger(name).level for name in [*NOISY_LOGGERS, "assistant.logging"]}
  yield
  for handler in root.handlers[:]:
    if handler not in handlers:
      root.removeHandler(handler)
      handler.close()
  for handler in handlers:
    if handler not in root.handlers:
      root.addHandler(handler)
  root.setLevel(level)
  for name, old in levels.items():
    logging.getLogger(name).setLevel(old)


def test_bot_token_is_redacted_inside_a_telegram_url(settings):
  # given a token that is not the configured one: the shape alone is enough
  settings.TELEGRAM_BOT_TOKEN = ""
  line = f'HTTP Request: POST https://api.telegram.org/bot{TOKEN}/getUpdates "HTTP/1.1 200 OK"'

  # when
  result = redact(line, mask_pii=False)

  # then
  assert result == (
    'HTTP Request: POST https://api.telegram.org/bot[REDACTED]/getUpdates "HTTP/1.1 200 OK"'
  )


def test_configured_secrets_are_redacted_whatever_their_shape(settings):
  # given
  first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
  settings.SECRET_KEY = "plain-secret-key-without-any-shape"
  settings.TELEGRAM_BOT_TOKEN = "odd-token-shape-0042"
  settings.LLM_MODEL_DECRYPT_KEY = f"{first}, {second}"
  settings.LOG_HTTP_TOKEN = "collector-token-77"
  settings.TELEGRAM_WEBHOOK_SECRET = "webhook_secret_1"
  settings.SOME_FUTURE_API_PASSWORD = "future-password"
  settings.DAILY_TOKEN_BUDGET = 123456789  # not a string: not a secret
  text = (
    f"{settings.SECRET_KEY} {settings.TELEGRAM_BOT_TOKEN} {first} {second} collector-token-77"
    " webhook_secret_1 future-password 123456789"
  )

  # when
  result = redact(text, mask_pii=False)

  # then
  assert result == " ".join([REDACTED] * 7) + " 123456789"


def test_registered_secret_is_redacted_and_short_values_are_ignored(clean_registry):
  # when
  register_secret("decrypted-llm-key-123")
  register_secret("short")
  register_secret(None)

  # then
  assert redact("k=decrypted-llm-key-123 v=short", mask_pii=False) == f"k={REDACTED} v=short"
  assert logging_redaction._registered == {"decrypted-llm-key-123"}


def test_redaction_works_before_django_settings_exist(monkeypatch, clean_registry):
  # given: a script that logs without configuring Django
  class Unconfigured:
    configured = False

  monkeypatch.setattr("django.conf.settings", Unconfigured())
  register_secret("script-secret-value")

  # then: shapes and registered secrets are still redacted, phones masked for the default region
  assert redact(f"bot{TOKEN} script-secret-value 89991234567", mask_pii=True) == (
    f"bot{REDACTED} {REDACTED} *********67"
  )


def test_database_password_is_redacted(settings, monkeypatch):
  monkeypatch.setitem(settings.DATABASES["default"], "PASSWORD", "pg-pass-9876")

  assert redact("connect with pg-pass-9876", mask_pii=False) == f"connect with {REDACTED}"


@pytest.mark.parametrize(
  ("text", "expected"),
  [
    ("Authorization: Bearer abcdef123456", "Authorization: Bearer [REDACTED]"),
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [REDACTED]"),
    ("authorization=abcdefgh12345", "authorization=[REDACTED]"),
    ('{"Authorization": "Token abcdef123456"}', '{"Authorization": "Token [REDACTED]"}'),
    (
      "[(b'authorization', b'Bearer xyz123456789'), (b'host', b'x')]",
      "[(b'authorization', b'Bearer [REDACTED]'), (b'host', b'x')]",
    ),
    ("sent bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "sent bearer [REDACTED]"),
    # Built at run time: llm's system check rightly flags key-shaped literals in files.
    ("key " + "sk-" + "proj-abcdefghijklmnop1234 used", "key sk-[REDACTED] used"),
    (
      "{'api_key': 'abcd1234efgh', 'max_tokens': 10, 'bot_token': 'zzz'}",
      "{'api_key': '[REDACTED]', 'max_tokens': 10, 'bot_token': '[REDACTED]'}",
    ),
    ("GET /x?access_token=abc123&page=2", "GET /x?access_token=[REDACTED]&page=2"),
    ("postgres://app:s3cret@db:5432/app", "postgres://app:[REDACTED]@db:5432/app"),
    ("prompt_tokens=10 completion_tokens=5", "prompt_tokens=10 completion_tokens=5"),
  ],
)
def test_secret_shaped_strings_are_redacted(text, expected):
  assert redact(text, mask_pii=False) == expected
  assert redact(expected, mask_pii=False) == expected  # idempotent


@pytest.mark.parametrize(
  ("text", "expected"),
  [
    ("call +7 999 123-45-67 now", "call +* *** ***-**-67 now"),
    ("phone 89991234567", "phone *********67"),
    ("tel: 8 (999) 123 45 67", "tel: * (***) *** ** 67"),
    ("uk +44 20 7946 0958", "uk +** ** **** **58"),
    ("mail anna.smith@example.com", "mail a***@example.com"),
    # Telegram ids, chat ids, dates and counts are not phone numbers.
    ("customer 5123456789 in chat -1001234567890", "customer 5123456789 in chat -1001234567890"),
    ("at 2024-05-01 12:30:45 took 1234 ms", "at 2024-05-01 12:30:45 took 1234 ms"),
  ],
)
def test_personal_data_masking(text, expected):
  assert mask_personal_data(text) == expected
  assert mask_personal_data(expected) == expected


def test_phones_and_emails_are_masked_at_info_but_kept_at_debug():
  # given
  message = "lead: %s, %s"
  args = ("+7 999 123-45-67", "anna@example.com")

  # when
  info = redact_record(make_record(logging.INFO, message, *args))
  debug = redact_record(make_record(logging.DEBUG, message, *args))

  # then
  assert info.getMessage() == "lead: +* *** ***-**-67, a***@example.com"
  assert debug.getMessage() == "lead: +7 999 123-45-67, anna@example.com"


def test_record_exception_and_stack_are_redacted_once(settings):
  # given
  settings.TELEGRAM_BOT_TOKEN = TOKEN
  try:
    raise RuntimeError(f"POST /bot{TOKEN}/sendMessage failed")
  except RuntimeError:
    record = make_record(logging.ERROR, "send failed for %s", TOKEN, exc_info=sys.exc_info())
  record.stack_info = f"Stack: token={TOKEN}"

  # when
  redact_record(record)
  record.msg = f"changed {TOKEN}"  # a second pass must not redo the work
  redact_record(record)

  # then
  assert TOKEN not in record.exc_text
  assert "RuntimeError: POST /bot[REDACTED]/sendMessage failed" in record.exc_text
  assert record.stack_info == "Stack: token=[REDACTED]"
  assert record.args is None
  assert record.getMessage() == f"changed {TOKEN}"


def test_record_with_wrong_arguments_is_kept_readable():
  record = make_record(logging.WARNING, "two %s %s", "one")

  redact_record(record)

  assert record.getMessage() == "'two %s %s' ('one',)"


def test_filter_on_a_handler_cleans_what_the_handler_writes(settings):
  # given
  settings.TELEGRAM_BOT_TOKEN = TOKEN
  stream = io.StringIO()
  handler = logging.StreamHandler(stream)
  handler.addFilter(RedactingFilter())
  logger = logging.getLogger("tests.logging.filter")
  logger.addHandler(handler)
  logger.propagate = False

  # when
  try:
    logger.warning("token %s", TOKEN)
  finally:
    logger.removeHandler(handler)
    logger.propagate = True

  # then
  assert stream.getvalue() == f"token {REDACTED}\n"


def test_json_formatter_writes_one_object_per_line():
  # given
  try:
    raise ValueError("boom")
  except ValueError:
    record = make_record(logging.ERROR, "failed %d times", 3, exc_info=sys.exc_info())
  record.stack_info = "Stack (most recent call last)"

  # when
  data = json.loads(JsonFormatter().format(record))

  # then
  assert data["level"] == "ERROR"
  assert data["logger"] == "tests.logging"
  assert data["message"] == "failed 3 times"
  assert data["exception"].endswith("ValueError: boom")
  assert data["stack"] == "Stack (most recent call last)"
  assert data["time"].endswith("+00:00")


def test_json_formatter_leaves_out_empty_exception_and_stack():
  data = json.loads(JsonFormatter().format(make_record(logging.INFO, "привет")))

  assert set(data) == {"time", "level", "logger", "message", "process", "thread"}
  assert data["message"] == "привет"


def test_default_config_has_only_the_console(tmp_path):
  # when
  config = build_logging_config(LogOptions(), base_dir=tmp_path)

  # then
  assert list(config["handlers"]) == ["console"]
  assert config["handlers"]["console"]["filters"] == ["redact"]
  assert config["handlers"]["console"]["formatter"] == "text"
  assert config["root"] == {"handlers": ["console"], "level": "INFO"}
  assert config["loggers"]["httpx"] == {"level": "WARNING"}
  assert set(config["loggers"]) == set(NOISY_LOGGERS)


def test_every_sink_gets_the_redaction_filter_and_the_root_takes_the_lowest_level(tmp_path):
  # given
  options = LogOptions(
    level="WARNING",
    format="json",
    file="logs/app.log",
    db_level="INFO",
    http_url="https://logs.example.com/in",
    http_level="ERROR",
    http_token="t0ken-for-logs",
    http_queue_size=7,
    http_batch_size=3,
  )

  # when
  config = build_logging_config(options, base_dir=tmp_path)

  # then
  handlers = config["handlers"]
  assert list(handlers) == ["console", "file", "database", "http"]
  assert all(handler["filters"] == ["redact"] for handler in handlers.values())
  assert all(handler["formatter"] == "json" for handler in handlers.values())
  assert config["root"]["level"] == "INFO"
  assert handlers["database"] == {
    "()": "assistant.logging_db.DatabaseHandler",
    "level": "INFO",
    "filters": ["redact"],
    "formatter": "json",
  }
  assert handlers["http"]["url"] == "https://logs.example.com/in"
  assert (handlers["http"]["queue_size"], handlers["http"]["batch_size"]) == (7, 3)
  assert handlers["file"]["filename"] == str(tmp_path / "logs" / "app.log")
  assert (tmp_path / "logs").is_dir()


def test_noisy_libraries_speak_at_debug_only_when_log_level_is_debug(tmp_path):
  config = build_logging_config(LogOptions(level="DEBUG"), base_dir=tmp_path)

  assert {entry["level"] for entry in config["loggers"].values()} == {"DEBUG"}
  assert config["root"]["level"] == "DEBUG"


@pytest.mark.parametrize(
  ("rotation", "handler_class", "extra"),
  [
    ("size", "logging.handlers.RotatingFileHandler", {"maxBytes": 2048, "backupCount": 3}),
    ("time", "logging.handlers.TimedRotatingFileHandler", {"when": "W0", "backupCount": 3}),
    ("external", "logging.handlers.WatchedFileHandler", {}),
  ],
)
def test_file_rotation_kinds(tmp_path, rotation, handler_class, extra):
  options = LogOptions(
    file=str(tmp_path / "a.log"),
    file_rotation=rotation,
    file_max_bytes=2048,
    file_when="W0",
    file_backup_count=3,
  )

  handler = build_logging_config(options, base_dir=tmp_path)["handlers"]["file"]

  assert handler == {
    "class": handler_class,
    "filename": str(tmp_path / "a.log"),
    "encoding": "utf-8",
    "delay": True,
    "level": "INFO",
    "filters": ["redact"],
    "formatter": "text",
    **extra,
  }


def test_log_file_path_is_relative_to_the_project(tmp_path):
  assert log_file_path("var/log/a.log", tmp_path) == tmp_path / "var/log/a.log"
  assert log_file_path("/srv/a.log", tmp_path).as_posix() == "/srv/a.log"


def test_configure_logging_applies_the_config_and_announces_each_sink_once(
  tmp_path, settings, restore_logging
):
  # given
  settings.LOG_FILE_ROTATION = "size"
  settings.LOG_DB_RETENTION_DAYS = 9
  settings.SENTRY_DSN = ""
  options = LogOptions(file=str(tmp_path / "app.log"), http_url="http://127.0.0.1:9/logs")
  config = build_logging_config(options, base_dir=tmp_path)

  # when
  configure_logging(config)
  logging.getLogger("tests.configure").warning("hello %s", TOKEN)
  for handler in logging.getLogger().handlers:
    handler.flush()

  # then
  lines = (tmp_path / "app.log").read_text().splitlines()
  assert [line.split(": ", 1)[1] for line in lines] == [
    f"Log sink on: file {tmp_path / 'app.log'} (size rotation)",
    "Log sink on: HTTP JSON to http://127.0.0.1:9",
    "hello [REDACTED]",
  ]
  assert " INFO [" in lines[0] and " assistant.logging: " in lines[0]


def test_sink_descriptions_name_database_and_sentry(settings, tmp_path):
  # given
  settings.LOG_DB_RETENTION_DAYS = 30
  settings.SENTRY_DSN = "https://key@sentry.example.com/1"
  settings.SENTRY_ENVIRONMENT = "staging"
  config = build_logging_config(
    LogOptions(db_level="WARNING", http_url="https://logs.example.com/in?token=abc"),
    base_dir=tmp_path,
  )

  # then
  assert sink_descriptions(config) == [
    "database at WARNING and above (prune_logs keeps 30 days)",
    "HTTP JSON to https://logs.example.com",
    "Sentry (environment staging)",
  ]
