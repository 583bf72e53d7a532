"""Fixtures for the Telegram adapter: the fake Bot API server and a running PTB Application."""

import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from telegram.ext import Application

from bot.application import build_application
from tests.fakes.telegram_server import FakeTelegramServer


@pytest.fixture(autouse=True)
def _fast_bot_settings(settings):
  """Short intervals so tests never sleep long; no outgoing rate limit unless a test sets one."""
  settings.TELEGRAM_STREAM_EDIT_INTERVAL = 0.05
  settings.TELEGRAM_TYPING_INTERVAL = 0.1
  settings.TELEGRAM_RATE_LIMIT_PER_SECOND = 0
  settings.TELEGRAM_GROUP_RATE_LIMIT_PER_MINUTE = 0
  settings.TELEGRAM_SHUTDOWN_TIMEOUT = 5.0
  settings.TELEGRAM_STREAMING = True


@pytest.fixture
def telegram():
  """A started fake Bot API server (tests/fakes/telegram_server.py), stopped afterwards."""
  server = FakeTelegramServer().start()
  yield server
  server.stop()


@contextlib.asynccontextmanager
async def running_bot(server: FakeTelegramServer, **kwargs) -> AsyncIterator[Application]:
  """The real Application polling the fake server in this event loop; stopped on exit."""
  application = build_application(token=server.token, base_url=server.base_url, **kwargs)
  await application.initialize()
  await application.post_init(application)
  await application.start()
  await application.updater.start_polling(poll_interval=0.0, timeout=1)
  try:
    yield application
  finally:
    await application.updater.stop()
    await application.stop()
    await application.post_shutdown(application)  # as run_polling does
    await application.shutdown()


@pytest.fixture
def run_bot(telegram) -> Callable:
  """`async with run_bot() as app:` starts the bot against `telegram` (call again to restart)."""

  def start(**kwargs):
    return running_bot(telegram, **kwargs)

  return start
