"""`manage.py runbot`: the Telegram bot, long polling by default or a webhook server."""

import asyncio
import logging
import re
import signal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from telegram.error import InvalidToken, NetworkError

from bot.application import build_application

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "chat_member"]
TOKEN_SHAPE = re.compile(r"^\d{5,20}:[A-Za-z0-9_-]{30,64}$")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
MISSING_TOKEN = """TELEGRAM_BOT_TOKEN is not set.

It is the secret key of your Telegram bot; the assistant needs it to talk to Telegram.
To get one:
  1. Open Telegram and start a chat with @BotFather (https://t.me/BotFather).
  2. Send /newbot, then choose a display name and a username ending in "bot".
  3. BotFather answers with a token like 123456789:AAE... - copy it.
  4. Put it into .env as TELEGRAM_BOT_TOKEN=<the token> (never commit .env), then run `make run`.

To try the assistant without Telegram, run `make chat` (talks to it in this terminal)."""
TOKEN_HELP = """A token is digits, a colon and about 35 letters, digits, "_" or "-", e.g. 123456789:AAE...
Copy it again from @BotFather (send /mybots, pick the bot, "API Token") into .env."""
BAD_TOKEN = "TELEGRAM_BOT_TOKEN does not look like a bot token.\n\n" + TOKEN_HELP
REJECTED_TOKEN = (
  "Telegram rejected TELEGRAM_BOT_TOKEN (revoked, or from another bot?).\n\n" + TOKEN_HELP
)


class Command(BaseCommand):
  help = (
    "Run the Telegram bot. Long polling by default (one process); --webhook serves Telegram's "
    "webhook calls instead, so several workers can share the load behind a proxy. "
    "Stops gracefully on Ctrl+C or SIGTERM, finishing the answers in progress."
  )

  def add_arguments(self, parser: CommandParser) -> None:
    parser.add_argument("--webhook", action="store_true", help="Receive updates by webhook.")
    parser.add_argument("--listen", default=None, help="Webhook: address to listen on.")
    parser.add_argument("--port", type=int, default=None, help="Webhook: port to listen on.")
    parser.add_argument("--url", default=None, help="Webhook: public HTTPS URL for Telegram.")
    parser.add_argument(
      "--secret-token", default=None, help="Webhook: secret Telegram sends in each call."
    )
    parser.add_argument(
      "--drop-pending-updates",
      action="store_true",
      help="Skip the updates Telegram kept while the bot was down (default: answer them).",
    )

  def handle(self, *args: object, **options: object) -> None:
    token = token_check(settings.TELEGRAM_BOT_TOKEN)
    application = build_application(
      token=token,
      base_url=settings.TELEGRAM_API_BASE_URL,
      cross_process_lock=bool(options["webhook"]) and _on_postgres(),
    )
    asyncio.set_event_loop(new_event_loop())  # run_* below own and close this loop
    try:
      self._serve(application, options)
    # coverage.py stops seeing this frame once a Bot API call has failed under pytest, so the
    # two lines below show as missed; test_runbot.py runs them (rejected token, no network...).
    except (InvalidToken, NetworkError, ImproperlyConfigured) as error:  # pragma: no cover
      raise startup_error(error) from None  # pragma: no cover

  def _serve(self, application, options: dict) -> None:
    if options["webhook"]:
      self._run_webhook(application, options)
    else:
      logger.info("Starting the Telegram bot (long polling)")
      application.run_polling(
        allowed_updates=ALLOWED_UPDATES,
        drop_pending_updates=bool(options["drop_pending_updates"]),
        timeout=settings.TELEGRAM_POLL_TIMEOUT,
        stop_signals=STOP_SIGNALS,
      )

  def _run_webhook(self, application, options: dict) -> None:
    url = options["url"] or settings.TELEGRAM_WEBHOOK_URL
    if not url:
      raise CommandError(
        "Webhook mode needs the public HTTPS URL Telegram should call: pass --url "
        "https://bot.example.com/telegram or set TELEGRAM_WEBHOOK_URL.",
        returncode=2,
      )
    if not url.startswith("https://"):
      logger.warning("Telegram only calls https:// webhooks; %s works for local tests only", url)
    secret = options["secret_token"] or settings.TELEGRAM_WEBHOOK_SECRET or None
    if secret is None:
      logger.warning("No TELEGRAM_WEBHOOK_SECRET: anyone who finds the URL can post updates")
    listen = options["listen"] or settings.TELEGRAM_WEBHOOK_LISTEN
    port = options["port"] or settings.TELEGRAM_WEBHOOK_PORT
    logger.info("Starting the Telegram bot (webhook on %s:%s)", listen, port)
    application.run_webhook(
      listen=listen,
      port=port,
      url_path=urlsplit(url).path.lstrip("/"),
      webhook_url=url,
      secret_token=secret,
      allowed_updates=ALLOWED_UPDATES,
      drop_pending_updates=bool(options["drop_pending_updates"]),
      stop_signals=STOP_SIGNALS,
    )


def token_check(token: str) -> str:
  """The token, or a CommandError that explains how to get one."""
  if not token:
    raise CommandError(MISSING_TOKEN, returncode=2)
  if not TOKEN_SHAPE.match(token):
    raise CommandError(BAD_TOKEN, returncode=2)
  return token


def startup_error(error: Exception) -> CommandError:
  """What to tell the operator when the bot cannot start."""
  if isinstance(error, InvalidToken):
    return CommandError(REJECTED_TOKEN, returncode=2)
  if isinstance(error, ImproperlyConfigured):
    return CommandError(str(error), returncode=2)
  return CommandError(f"Cannot reach the Telegram Bot API: {error}")


def new_event_loop() -> asyncio.AbstractEventLoop:
  """uvloop (libuv: less CPU per request than asyncio's own loop) unless BOT_EVENT_LOOP=asyncio."""
  if settings.BOT_EVENT_LOOP == "asyncio":
    return asyncio.new_event_loop()
  try:
    import uvloop
  except ImportError as error:  # e.g. on Windows, where uvloop does not exist
    raise CommandError(
      "BOT_EVENT_LOOP=uvloop needs the uvloop package (not available on Windows): run "
      "`make install`, or set BOT_EVENT_LOOP=asyncio in .env."
    ) from error
  return uvloop.new_event_loop()


def _on_postgres() -> bool:
  return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
