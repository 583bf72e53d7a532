"""The Application's wiring: start-up calls, the error handler, limits, the engine contract."""

import asyncio
import logging

import pytest
from telegram.error import NetworkError, RetryAfter

from assistant.types import Reply
from bot.application import (
  BotRateLimiter,
  build_application,
  command_menu,
  quiet_library_loggers,
  update_processor,
)
from bot.chatlock import ChatLock, PostgresChatLock
from bot.handlers import on_error
from llm.errors import RegistryError
from tests.fakes.telegram_server import DEFAULT_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)


class BrokenEngine:
  """Stands in for an engine bug (the real engine catches its own errors)."""

  async def handle_turn(self, turn, *, stream=None) -> list[Reply]:
    raise RuntimeError("engine bug")

  async def reply_sent(self, *, message_id: int, external_message_id: int) -> None:
    raise AssertionError("not called")


async def test_start_up_publishes_command_menus(telegram, run_bot, settings, llm_model):
  settings.LANGUAGE_CODE = "ru"

  async with run_bot():
    pass

  assert set(telegram.commands) == {"", "ru", "en"}
  assert [c["command"] for c in telegram.commands["en"]] == [
    "start",
    "services",
    "help",
    "model",
    "language",
    "feedback",
    "cancel",
    "forget",
  ]
  assert telegram.commands[""] == telegram.commands["ru"]
  assert telegram.commands["en"][0]["description"] == "Start over: what I can do"


def test_command_menu_is_translated_with_the_language():
  assert [c.command for c in command_menu("ru")] == [c.command for c in command_menu("en")]
  assert all(c.description for c in command_menu("ru"))


async def test_bad_llm_registry_stops_the_start(telegram, settings):
  settings.DEFAULT_LLM_MODEL = "no/such-model"
  application = build_application(token=telegram.token, base_url=telegram.base_url)
  await application.initialize()

  with pytest.raises(RegistryError, match="no/such-model"):
    await application.post_init(application)
  await application.shutdown()


async def test_engine_error_is_logged_and_answered_politely(telegram, run_bot, caplog):
  async with run_bot(engine=BrokenEngine()):
    update = telegram.updates.group_text("hi", chat_id=-100700, mention=True, thread_id=4)
    telegram.push_update(update)
    (notice,) = await telegram.wait_sent(1, chat_id=-100700)
    telegram.push_update(telegram.updates.text("hi", user_id=8, language_code="en"))
    (english,) = await telegram.wait_sent(1, chat_id=8)

  assert notice["message_thread_id"] == 4
  assert english["text"] == "Sorry, something went wrong on our side. Please try again in a minute."
  assert f"Error handling update {update['update_id']}: RuntimeError('engine bug')" in caplog.text
  assert telegram.token not in caplog.text


async def test_error_notice_that_cannot_be_sent_is_only_logged(telegram, run_bot, caplog):
  telegram.fail("sendMessage", status=500, times=5)

  async with run_bot(engine=BrokenEngine()):
    telegram.push_update(telegram.updates.text("hi", user_id=9))
    await telegram.wait_calls("sendMessage", 1)
    await asyncio.sleep(0.05)

  assert "Could not send the error notice" in caplog.text


async def test_errors_without_a_chat_are_only_logged(telegram, run_bot, caplog):
  async with run_bot(engine=BrokenEngine()) as application:
    context = type(
      "Context", (), {"error": NetworkError("connection reset"), "bot": application.bot}
    )
    await on_error(None, context)
    context.error = RuntimeError("no update")
    await on_error(None, context)

  assert "Telegram connection problem: connection reset" in caplog.text
  assert "Error handling update None: RuntimeError('no update')" in caplog.text
  assert telegram.calls("sendMessage") == []


async def test_chat_actions_skip_the_message_limit_but_messages_wait():
  # given: one message per second allowed
  limiter = BotRateLimiter(overall_max_rate=1, overall_time_period=1, group_max_rate=0)
  calls = []

  async def callback(name):
    calls.append(name)
    return True

  async def request(endpoint, chat_id):
    return await limiter.process_request(
      callback, (endpoint,), {}, endpoint, {"chat_id": chat_id}, None
    )

  # when
  await request("sendMessage", 1)
  blocked = asyncio.create_task(request("sendMessage", 2))
  await asyncio.gather(*(request("sendChatAction", n) for n in range(5)))
  await asyncio.sleep(0.05)

  # then
  assert calls == ["sendMessage", *["sendChatAction"] * 5]
  blocked.cancel()


async def test_at_most_max_in_flight_requests_are_on_the_wire_in_arrival_order():
  # given: two requests may be on the wire; the "server" answers when released
  limiter = BotRateLimiter(max_in_flight=2, overall_max_rate=0, group_max_rate=0)
  release = asyncio.Event()
  on_wire, done = [], []

  async def callback(n):
    on_wire.append(n)
    await release.wait()
    on_wire.remove(n)
    done.append(n)
    return True

  # when
  requests = [
    asyncio.create_task(
      limiter.process_request(callback, (n,), {}, "sendMessage", {"chat_id": n}, None)
    )
    for n in range(5)
  ]
  await asyncio.sleep(0.05)

  # then: two are sent, the rest wait in order
  assert on_wire == [0, 1]
  release.set()
  assert await asyncio.gather(*requests) == [True] * 5
  assert done == [0, 1, 2, 3, 4]


async def test_waiting_out_retry_after_holds_no_slot(settings):
  # given: one request on the wire at a time; the first try is told to retry after 0.2 s
  settings.TELEGRAM_CONNECTION_POOL_SIZE = 1
  limiter = BotRateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=1)
  tries = []

  async def callback():
    tries.append(len(tries))
    if len(tries) == 1:
      raise RetryAfter(0.2)
    return True

  # when
  request = asyncio.create_task(
    limiter.process_request(callback, (), {}, "sendMessage", {"chat_id": 1}, None)
  )
  await asyncio.sleep(0.05)

  # then: while it waits the slot is free; then it is retried once
  assert tries == [0]
  assert limiter._slots.free == 1
  assert await request is True
  assert tries == [0, 1]


def test_library_loggers_are_quiet():
  logging.getLogger("httpx").setLevel(logging.DEBUG)

  quiet_library_loggers()

  assert logging.getLogger("httpx").level == logging.WARNING
  assert logging.getLogger("telegram").level == logging.WARNING


def test_cross_process_lock_needs_postgresql():
  sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": "x"}
  with pytest.raises(ValueError, match="needs PostgreSQL"):
    update_processor(cross_process_lock=True, database=sqlite)
  assert type(update_processor(cross_process_lock=False).chat_lock) is ChatLock


def test_cross_process_lock_on_postgresql(settings):
  settings.TELEGRAM_MAX_CONCURRENT_UPDATES = 300
  database = {"ENGINE": "django.db.backends.postgresql", "NAME": "app", "HOST": "db"}

  processor = update_processor(cross_process_lock=True, database=database)

  assert isinstance(processor.chat_lock, PostgresChatLock)
  assert processor.chat_lock.connect_kwargs["dbname"] == "app"
  assert processor.max_concurrent == 300


def test_default_lock_database_comes_from_settings(settings):
  if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    assert isinstance(update_processor(cross_process_lock=True).chat_lock, PostgresChatLock)
  else:
    with pytest.raises(ValueError, match="needs PostgreSQL"):
      update_processor(cross_process_lock=True)


async def test_a_failed_start_closes_the_bot_api_sessions(unused_tcp_port):
  # given: nothing listens where the Bot API should be
  application = build_application(
    token=DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{unused_tcp_port}/bot"
  )

  # when
  with pytest.raises(NetworkError):
    await application.initialize()

  # then: both HTTP sessions (messages, long polls) are closed, none leaks
  assert len(application.transports) == 2
  assert all(transport._session.closed for transport in application.transports)
