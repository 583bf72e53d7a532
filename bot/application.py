"""Builds the python-telegram-bot Application: limits, update processing, handlers, start-up."""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from types import ModuleType
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from telegram import BotCommand
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from assistant.db import run_db
from bot.chatlock import ChatLock, PostgresChatLock, postgres_connect_kwargs
from bot.groups import group_setup
from bot.handlers import ENGINE_KEY, Engine, register_handlers
from bot.http import AiohttpRequest
from bot.processor import ChatOrderedUpdateProcessor
from bot.services import processed_update_prune
from bot.slots import RequestSlots
from llm.client import clients_close, clients_long_lived, clients_prepare

logger = logging.getLogger(__name__)

# Loggers that print request URLs, which contain the bot token, at INFO/DEBUG.
NOISY_LOGGERS = ("httpx", "httpcore", "aiohttp", "telegram", "hpack", "tornado.access")
# Methods that send no message: Telegram's message limits do not apply to them.
UNLIMITED_METHODS = {"sendChatAction", "answerCallbackQuery"}
# Hints that wait behind every message for a free request slot.
BACKGROUND_METHODS = {"sendChatAction"}


class BotRateLimiter(AIORateLimiter):
  """PTB's limiter (overall and per-group rates, waits out RetryAfter), chat actions exempt,
  and at most `max_in_flight` (default TELEGRAM_CONNECTION_POOL_SIZE) requests on the wire."""

  def __init__(self, *, max_in_flight: int | None = None, **kwargs: Any) -> None:
    super().__init__(**kwargs)
    # The pool never queues (bot/slots.py); a RetryAfter wait holds no slot.
    self._slots = RequestSlots(max_in_flight or settings.TELEGRAM_CONNECTION_POOL_SIZE)

  async def process_request(
    self,
    callback: Callable[..., Coroutine[Any, Any, Any]],
    args: Any,
    kwargs: dict[str, Any],
    endpoint: str,
    data: dict[str, Any],
    rate_limit_args: int | None,
  ) -> Any:
    if endpoint in UNLIMITED_METHODS:
      data = {}  # no chat id -> no limiter, but RetryAfter is still retried

    async def request(*call_args: Any, **call_kwargs: Any) -> Any:
      async with self._slots.hold(background=endpoint in BACKGROUND_METHODS):
        return await callback(*call_args, **call_kwargs)

    return await super().process_request(request, args, kwargs, endpoint, data, rate_limit_args)


class BotApplication(Application):
  """An Application whose stop() also finishes every update already accepted (graceful stop)."""

  transports: tuple[AiohttpRequest, ...] = ()  # set by build_application

  async def initialize(self) -> None:
    try:
      await super().initialize()
    except BaseException:
      # A failed start (rejected token, no network) skips PTB's shutdown of the bot: close our
      # HTTP sessions here, or they are reported as leaked when the process exits.
      await asyncio.gather(*(transport.shutdown() for transport in self.transports))
      raise

  async def stop(self) -> None:
    await super().stop()
    processor = self.update_processor
    if isinstance(processor, ChatOrderedUpdateProcessor):
      await processor.drain(grace=settings.TELEGRAM_SHUTDOWN_TIMEOUT)


def quiet_library_loggers() -> None:
  """Library loggers to WARNING: their INFO/DEBUG lines carry URLs with the token."""
  for name in NOISY_LOGGERS:
    logging.getLogger(name).setLevel(logging.WARNING)


def build_application(
  *,
  token: str,
  base_url: str,
  engine: Engine | ModuleType | None = None,
  cross_process_lock: bool = False,
) -> Application:
  """The bot: PTB Application with our limits, update processor, handlers and start-up hooks.

  `engine` defaults to `assistant.engine`; `cross_process_lock` takes a PostgreSQL advisory lock
  per chat (webhook workers behind a load balancer, PostgreSQL only).
  """
  quiet_library_loggers()
  transports = (
    bot_request(pool_size=settings.TELEGRAM_CONNECTION_POOL_SIZE),
    # One long poll at a time; it waits up to the poll timeout for updates, then answers.
    bot_request(
      pool_size=1, read_timeout=settings.TELEGRAM_READ_TIMEOUT + settings.TELEGRAM_POLL_TIMEOUT
    ),
  )
  application = (
    ApplicationBuilder()
    .application_class(BotApplication)
    .token(token)
    .base_url(base_url)
    .base_file_url(base_url.removesuffix("/bot") + "/file/bot")
    .request(transports[0])
    .get_updates_request(transports[1])
    .rate_limiter(rate_limiter())
    # Bounded: when the bot is saturated, fetching pauses and Telegram keeps the updates.
    .update_queue(asyncio.Queue(maxsize=settings.TELEGRAM_MAX_PENDING_UPDATES))
    .concurrent_updates(update_processor(cross_process_lock=cross_process_lock))
    .post_init(post_init)
    .post_shutdown(post_shutdown)
    .build()
  )
  application.transports = transports
  application.bot_data[ENGINE_KEY] = engine if engine is not None else _default_engine()
  register_handlers(application)
  return application


def _default_engine() -> ModuleType:
  from assistant import engine

  return engine


def bot_request(*, pool_size: int, read_timeout: float | None = None) -> AiohttpRequest:
  """Bot API transport (bot/http.py) with the TELEGRAM_*_TIMEOUT settings."""
  return AiohttpRequest(
    connection_pool_size=pool_size,
    connect_timeout=settings.TELEGRAM_CONNECT_TIMEOUT,
    read_timeout=read_timeout or settings.TELEGRAM_READ_TIMEOUT,
    pool_timeout=settings.TELEGRAM_POOL_TIMEOUT,
  )


def rate_limiter() -> BotRateLimiter:
  return BotRateLimiter(
    overall_max_rate=settings.TELEGRAM_RATE_LIMIT_PER_SECOND,
    overall_time_period=1,
    group_max_rate=settings.TELEGRAM_GROUP_RATE_LIMIT_PER_MINUTE,
    group_time_period=60,
    max_retries=settings.TELEGRAM_MAX_RETRIES,
  )


def update_processor(
  *, cross_process_lock: bool, database: dict[str, Any] | None = None
) -> ChatOrderedUpdateProcessor:
  """Our update processor; `database` (default: settings) holds the cross-process chat locks."""
  lock = ChatLock()
  if cross_process_lock:
    database = database or settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
      raise ValueError("The cross-process chat lock needs PostgreSQL (DATABASE_URL=postgres://...)")
    lock = PostgresChatLock(postgres_connect_kwargs(database))
  return ChatOrderedUpdateProcessor(
    max_concurrent=settings.TELEGRAM_MAX_CONCURRENT_UPDATES,
    max_pending=settings.TELEGRAM_MAX_PENDING_UPDATES,
    chat_lock=lock,
  )


def command_menu(language: str) -> list[BotCommand]:
  """The command menu in one language (English msgids, translated)."""
  with translation.override(language):
    return [
      BotCommand("start", _("Start over: what I can do")),
      BotCommand("services", _("Our services and prices")),
      BotCommand("help", _("How to use the assistant")),
      BotCommand("model", _("Choose the AI model")),
      BotCommand("language", _("Change the language")),
      BotCommand("feedback", _("Leave feedback")),
      BotCommand("cancel", _("Cancel the current questions")),
      BotCommand("forget", _("Delete my data")),
    ]


async def post_init(application: Application) -> None:
  """Start-up: check the LLM registry, publish the command menus, prune old update ids."""
  clients_long_lived()  # this loop closes its LLM clients in post_shutdown
  report = await run_db(_registry_validate)
  if report is not None:
    logger.info("LLM registry ok: %s model(s), default %s", len(report.models), report.default)
    await clients_prepare()  # not on the first questions' time
  bot = application.bot
  await bot.set_my_commands(command_menu(settings.LANGUAGE_CODE))
  for code, _name in settings.LANGUAGES:
    await bot.set_my_commands(command_menu(code), language_code=code)
  await group_setup(bot)  # bot/groups.py: the group menus, privacy mode in the log
  await run_db(processed_update_prune)
  logger.info("Telegram bot @%s ready (id %s)", bot.username, bot.id)


def _registry_validate() -> Any:
  try:
    from llm.registry import registry_validate
  except ImportError:  # pragma: no cover - the registry ships with the llm app
    return None
  return registry_validate()


async def post_shutdown(application: Application) -> None:
  """Last words: everything in flight was answered (BotApplication.stop drained it)."""
  await clients_close()
  logger.info("Telegram bot stopped")
