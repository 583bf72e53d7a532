"""Acceptance: after a run that logs at DEBUG through every sink, no secret is found anywhere.

A real `manage.py` process makes real python-telegram-bot and openai calls to a local server (the
bot token sits in the request URL that httpx logs; the API key in the Authorization header), then
logs the secrets outright, and an exception carrying the token. We then grep the console output,
the rotated log files, the database log table, what the HTTP JSON sink posted and what Sentry
received.
"""

import os
import secrets
import subprocess
import sys
import textwrap

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

from assistant.models import LogRecord
from tests.fakes.log_collector import LogCollector

SCRIPT = textwrap.dedent(
  """
  import asyncio, logging, os
  import openai, telegram
  from django.conf import settings
  from assistant.logging_redaction import register_secret

  api_key = os.environ["ACCEPTANCE_LLM_KEY"]
  register_secret(api_key)  # what llm/ does when it decrypts a model's key

  async def main():
    async with telegram.Bot(settings.TELEGRAM_BOT_TOKEN, base_url=settings.TELEGRAM_API_BASE_URL) as bot:
      await bot.get_me()
    client = openai.AsyncOpenAI(api_key=api_key, base_url=os.environ["ACCEPTANCE_LLM_URL"])
    await client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])

  asyncio.run(main())
  log = logging.getLogger("assistant.acceptance")
  log.debug("token=%s key %s secret %s", settings.TELEGRAM_BOT_TOKEN, api_key, settings.SECRET_KEY)
  log.info("new lead +7 999 123-45-67 anna@example.com")
  try:
    raise RuntimeError("Telegram refused /bot" + settings.TELEGRAM_BOT_TOKEN + "/sendMessage")
  except RuntimeError:
    log.exception("request failed with key %s", api_key)
  """
)


def database_url() -> str:
  """The test database as a DATABASE_URL, for a child process."""
  db = connection.settings_dict
  if connection.vendor == "sqlite":
    return f"sqlite:///{db['NAME']}"
  auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
  return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def collector():
  server = LogCollector().start()
  yield server
  server.stop()


@pytest.mark.django_db(transaction=True)
def test_no_secret_reaches_any_sink_after_a_debug_run(tmp_path, collector):
  # given secrets of every kind, and every sink on at DEBUG
  token = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(26)}"
  secret_key = secrets.token_urlsafe(50)
  master_key = Fernet.generate_key().decode()
  llm_key = "llmkey-" + secrets.token_hex(20)
  http_token = "collector-" + secrets.token_hex(12)
  environment = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "assistant.settings"),
    "DATABASE_URL": database_url(),
    "SECRET_KEY": secret_key,
    "LLM_MODEL_DECRYPT_KEY": master_key,
    "TELEGRAM_BOT_TOKEN": token,
    "TELEGRAM_API_BASE_URL": collector.url("/bot"),
    "LOG_LEVEL": "DEBUG",
    "LOG_FILE": str(tmp_path / "logs" / "assistant.log"),
    "LOG_FILE_MAX_BYTES": "4096",
    "LOG_FILE_BACKUP_COUNT": "50",
    "LOG_DB_LEVEL": "DEBUG",
    "LOG_HTTP_URL": collector.url("/logs"),
    "LOG_HTTP_LEVEL": "DEBUG",
    "LOG_HTTP_TOKEN": http_token,
    "SENTRY_DSN": collector.url("/1").replace("http://", "http://publickey@"),
    "SENTRY_ENVIRONMENT": "acceptance",
    "ACCEPTANCE_LLM_KEY": llm_key,
    "ACCEPTANCE_LLM_URL": collector.url("/v1"),
  }

  # when
  run = subprocess.run(
    [sys.executable, "manage.py", "shell", "-c", SCRIPT],
    cwd=settings.BASE_DIR,
    env=environment,
    capture_output=True,
    text=True,
    timeout=120,
  )

  # then the run worked and every sink received something
  assert run.returncode == 0, run.stderr[-3000:]
  files = sorted((tmp_path / "logs").iterdir())
  file_text = "\n".join(path.read_text(encoding="utf-8") for path in files)
  rows = list(LogRecord.objects.values_list("logger_name", "message", "exception"))
  db_text = "\n".join(" ".join(row) for row in rows)
  http_text = "\n".join(collector.bodies("/logs"))
  sentry_text = "\n".join(collector.bodies("/api/1/"))
  sinks = {
    "console": run.stderr + run.stdout,
    "file": file_text,
    "database": db_text,
    "http": http_text,
    "sentry": sentry_text,
  }
  assert len(files) > 1, "the 4 KiB size rotation should have rotated at least once"
  for name in ["console", "file", "database", "http"]:
    text = sinks[name]
    assert "/bot[REDACTED]/getMe" in text, name  # httpx's DEBUG/INFO request line
    assert "Telegram refused /bot[REDACTED]/sendMessage" in text, name
    assert "new lead +* *** ***-**-67 a***@example.com" in text, name
  assert "Log sink on: database at DEBUG and above" in db_text
  assert "RuntimeError" in sentry_text and "request failed with key [REDACTED]" in sentry_text
  # and no secret anywhere
  for secret in [token, token.split(":")[1], secret_key, master_key, llm_key, http_token]:
    leaks = [name for name, text in sinks.items() if secret in text]
    assert leaks == [], f"a secret leaked into: {leaks}"
  assert "anna@example.com" not in db_text + file_text + http_text + sentry_text
