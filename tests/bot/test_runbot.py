"""`manage.py runbot`: clear exits on bad configuration, polling and webhook runs with real signals."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from telegram.error import InvalidToken, NetworkError

from bot.management.commands.runbot import (
  ALLOWED_UPDATES,
  new_event_loop,
  startup_error,
  token_check,
)
from tests.fakes.telegram_server import DEFAULT_TOKEN


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
  environment = {**os.environ, "SECRET_KEY": "test-secret", **env}
  return subprocess.run(
    [sys.executable, "manage.py", *args],
    capture_output=True,
    text=True,
    timeout=60,
    env=environment,
    cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
  )


def test_runbot_without_token_explains_how_to_get_one_and_exits_non_zero():
  result = manage("runbot", TELEGRAM_BOT_TOKEN="")

  assert result.returncode == 2
  assert "TELEGRAM_BOT_TOKEN is not set." in result.stderr
  assert "@BotFather" in result.stderr and "/newbot" in result.stderr
  assert "make chat" in result.stderr
  assert result.stdout == ""


def test_runbot_help_lists_the_options():
  result = manage("runbot", "--help")

  assert result.returncode == 0
  for option in ("--webhook", "--listen", "--port", "--url", "--secret-token"):
    assert option in result.stdout
  assert "Long polling by default" in result.stdout


@pytest.mark.parametrize(
  ("token", "message"),
  [("", "TELEGRAM_BOT_TOKEN is not set"), ("12345:short", "does not look like a bot token")],
)
def test_token_check_refuses_missing_and_malformed_tokens(token, message):
  with pytest.raises(CommandError, match=message) as error:
    token_check(token)
  assert error.value.returncode == 2


def test_token_check_accepts_a_real_looking_token():
  assert token_check(DEFAULT_TOKEN) == DEFAULT_TOKEN


@pytest.fixture
def bot_settings(settings, telegram):
  settings.TELEGRAM_BOT_TOKEN = telegram.token
  settings.TELEGRAM_API_BASE_URL = telegram.base_url
  settings.TELEGRAM_POLL_TIMEOUT = 1
  return settings


def signal_when(condition, signum: int, timeout: float = 10.0) -> threading.Thread:
  """Send `signum` to this process once `condition()` holds (what a supervisor would do)."""

  def holds() -> bool:
    try:
      return condition()
    except Exception:  # e.g. the server is not listening yet: try again
      return False

  def watch() -> None:
    deadline = time.monotonic() + timeout
    while not holds() and time.monotonic() < deadline:
      time.sleep(0.02)
    os.kill(os.getpid(), signum)

  thread = threading.Thread(target=watch, daemon=True)
  thread.start()
  return thread


@pytest.mark.django_db(transaction=True)
def test_polling_run_stops_on_sigterm_after_finishing_the_answer(
  telegram, bot_settings, fake_llm, llm_model, caplog
):
  # given: a slow answer in progress when SIGTERM arrives
  fake_llm.enqueue(text="Here you are.", delay=0.3)
  telegram.push_update(telegram.updates.text("Question?", user_id=31))
  watcher = signal_when(lambda: bool(fake_llm.chat_requests), signal.SIGTERM)

  # when
  call_command("runbot")
  watcher.join()

  # then
  assert telegram.texts(31)[0] == "Here you are."
  assert telegram.calls("getUpdates")[0]["params"]["allowed_updates"] == ALLOWED_UPDATES
  assert "Starting the Telegram bot (long polling)" in caplog.text
  assert "Telegram bot stopped" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_webhook_run_receives_posted_updates(telegram, bot_settings, llm_model, caplog):
  # given
  import httpx

  port = _free_port()
  url = f"http://127.0.0.1:{port}/telegram/hook"
  posted: dict = {}
  update = telegram.updates.text("/help", user_id=32)

  def post_updates() -> bool:
    if telegram.webhook["url"] != url:
      return False  # not started yet
    if not posted:
      headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
      posted["ok"] = httpx.post(url, json=update, headers=headers, timeout=5).status_code
      posted["dup"] = httpx.post(url, json=update, headers=headers, timeout=5).status_code
      posted["forged"] = httpx.post(url, json=update, timeout=5).status_code
    return len(telegram.sent(32)) >= 1

  watcher = signal_when(post_updates, signal.SIGINT)

  # when
  call_command(
    "runbot", "--webhook", "--listen", "127.0.0.1", "--port", str(port), "--url", url,
    "--secret-token", "s3cret",
  )  # fmt: skip
  watcher.join()

  # then
  assert posted == {"ok": 200, "dup": 200, "forged": 403}
  assert telegram.webhook["secret_token"] == "s3cret"
  assert len(telegram.sent(32)) == 1  # the duplicate was answered once
  assert f"webhook on 127.0.0.1:{port}" in caplog.text
  assert "works for local tests only" in caplog.text


def test_webhook_needs_a_url(bot_settings):
  bot_settings.TELEGRAM_WEBHOOK_URL = ""
  with pytest.raises(CommandError, match="needs the public HTTPS URL"):
    call_command("runbot", "--webhook")


@pytest.mark.django_db(transaction=True)
def test_webhook_without_secret_warns(telegram, bot_settings, llm_model, caplog):
  port = _free_port()
  bot_settings.TELEGRAM_WEBHOOK_URL = f"https://127.0.0.1:{port}/"
  bot_settings.TELEGRAM_WEBHOOK_PORT = port
  bot_settings.TELEGRAM_WEBHOOK_LISTEN = "127.0.0.1"
  bot_settings.TELEGRAM_WEBHOOK_SECRET = ""
  watcher = signal_when(lambda: _listening(port), signal.SIGINT)

  call_command("runbot", "--webhook")
  watcher.join()

  assert "No TELEGRAM_WEBHOOK_SECRET" in caplog.text
  assert telegram.webhook == {
    "url": f"https://127.0.0.1:{port}/",
    "secret_token": "",
    "allowed_updates": ALLOWED_UPDATES,
  }


@pytest.mark.django_db(transaction=True)
def test_rejected_token_is_a_clear_error(telegram, bot_settings):
  bot_settings.TELEGRAM_BOT_TOKEN = "987654321:AAOtherTokenThatTheServerDoesNotKnow_x"
  with pytest.raises(CommandError, match="Telegram rejected TELEGRAM_BOT_TOKEN"):
    call_command("runbot")


@pytest.mark.django_db(transaction=True)
def test_unreachable_bot_api_is_a_clear_error(bot_settings):
  bot_settings.TELEGRAM_API_BASE_URL = f"http://127.0.0.1:{_free_port()}/bot"
  bot_settings.TELEGRAM_CONNECT_TIMEOUT = 0.5
  with pytest.raises(CommandError, match="Cannot reach the Telegram Bot API"):
    call_command("runbot")


@pytest.mark.django_db(transaction=True)
def test_bad_llm_registry_is_a_clear_error(bot_settings):
  bot_settings.DEFAULT_LLM_MODEL = "missing/model"
  with pytest.raises(CommandError, match="missing/model") as error:
    call_command("runbot")
  assert error.value.returncode == 2


def _listening(port: int) -> bool:
  """The webhook server accepts connections (PTB starts it after setWebhook)."""
  import socket

  with socket.socket() as sock:
    return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
  import socket

  with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    return sock.getsockname()[1]


@pytest.mark.parametrize(
  ("error", "message", "code"),
  [
    (InvalidToken(), "Telegram rejected TELEGRAM_BOT_TOKEN", 2),
    (NetworkError("refused"), "Cannot reach the Telegram Bot API: refused", 1),
    (ImproperlyConfigured("LLM registry broken"), "LLM registry broken", 2),
  ],
)
def test_startup_errors_become_clear_command_errors(error, message, code):
  command_error = startup_error(error)

  assert message in str(command_error)
  assert command_error.returncode == code


def test_the_bot_runs_on_uvloop_by_default(settings):
  import uvloop

  loop = new_event_loop()
  try:
    assert isinstance(loop, uvloop.Loop)
  finally:
    loop.close()


def test_bot_event_loop_asyncio_picks_pythons_own_loop(settings):
  import uvloop

  settings.BOT_EVENT_LOOP = "asyncio"
  loop = new_event_loop()
  try:
    assert not isinstance(loop, uvloop.Loop)
  finally:
    loop.close()


def test_uvloop_missing_is_a_clear_error(settings, monkeypatch):
  monkeypatch.setitem(sys.modules, "uvloop", None)  # what an interpreter without it would do

  with pytest.raises(CommandError, match="BOT_EVENT_LOOP=asyncio"):
    new_event_loop()
