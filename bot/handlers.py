"""Thin PTB handlers: Update -> Turn -> engine -> replies sent -> engine told the sent ids."""

import logging
from typing import Protocol

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
  Application,
  CallbackQueryHandler,
  ContextTypes,
  MessageHandler,
  filters,
)

from assistant.db import run_db
from assistant.types import ChatRef, Reply, StreamCallback, Turn
from bot.convert import turn_from_update
from bot.groups import admin_checked, anonymous_admin_turn, register_group_handlers
from bot.sender import ReplySender, StreamEditor, typing
from bot.services import processed_update_claim

logger = logging.getLogger(__name__)

ENGINE_KEY = "engine"  # application.bot_data key of the engine (assistant.engine by default)
# Everything a person can send in a chat; channel posts and edits are other update types.
MESSAGES = filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL


class Engine(Protocol):
  """The conversation engine's contract (assistant/engine.py)."""

  async def handle_turn(
    self, turn: Turn, *, stream: StreamCallback | None = None
  ) -> list[Reply]: ...

  async def reply_sent(self, *, message_id: int, external_message_id: int) -> None: ...

  async def handle_edit(self, turn: Turn) -> bool: ...

  async def group_joined(
    self, *, channel: str, chat: ChatRef, language_code: str = ""
  ) -> list[Reply]: ...


def register_handlers(application: Application) -> None:
  register_group_handlers(application)  # bot/groups.py: life cycle, edits, members
  application.add_handler(MessageHandler(MESSAGES, on_message))
  application.add_handler(CallbackQueryHandler(on_button))
  application.add_error_handler(on_error)


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
  """A message from a person: text, command, contact or media."""
  bot = context.bot.bot
  turn = turn_from_update(update, bot=bot) or anonymous_admin_turn(update, bot=bot)
  if turn is not None:
    await answer_turn(await admin_checked(turn, context.bot), context)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
  """An inline button press: always answered at once (stops the spinner), acted on once."""
  try:
    await update.callback_query.answer()
  except BadRequest as error:  # "query is too old": the press still counts
    logger.debug("Could not answer callback query: %s", error)
  if not await run_db(processed_update_claim, update_id=update.update_id):
    logger.info("Dropping redelivered button press %s", update.update_id)
    return
  turn = turn_from_update(update, bot=context.bot.bot)
  if turn is not None:
    await answer_turn(turn, context)


async def answer_turn(turn: Turn, context: ContextTypes.DEFAULT_TYPE) -> None:
  """Ask the engine (typing… while it works, streaming into a message) and send its replies."""
  engine = context.application.bot_data[ENGINE_KEY]
  sender = ReplySender(context.bot, turn)
  if not turn.addressed:
    # Group talk not meant for the bot: the engine stores it for context; we never answer it,
    # whatever comes back.
    await engine.handle_turn(turn)
    return
  stream = StreamEditor(sender, interval=settings.TELEGRAM_STREAM_EDIT_INTERVAL)
  # No streaming in groups: every edit counts against Telegram's 20 messages a minute there.
  streaming = settings.TELEGRAM_STREAMING and turn.chat.type == "private"
  async with typing(context.bot, turn):
    replies = await engine.handle_turn(turn, stream=stream if streaming else None)
  try:
    await send_replies(replies, sender=sender, stream=stream, engine=engine)
  except Forbidden as error:  # blocked by the user or removed from the group
    logger.info("Cannot write to chat %s: %s", turn.chat.external_id, error.message)


async def send_replies(
  replies: list[Reply], *, sender: ReplySender, stream: StreamEditor, engine: Engine
) -> None:
  """Send in order, recording each sent id with the engine."""
  # The streamed preview becomes the reply marked `streamed`, or else the first one (a fallback
  # answer after a stream broke off), so no half answer is left behind.
  streamed = next((r for r in replies if r.streamed), None)
  if streamed is None and stream.message is not None and replies:
    streamed = replies[0]
  for reply in replies:
    sent = await (stream.finish(reply) if reply is streamed else sender.send(reply))
    if sent is not None and reply.message_id is not None:
      await engine.reply_sent(message_id=reply.message_id, external_message_id=sent.message_id)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
  """Log the error (never the token) and tell the customer something went wrong."""
  error = context.error
  if isinstance(error, NetworkError | TimedOut | RetryAfter) and update is None:
    logger.warning("Telegram connection problem: %s", error)  # polling retries by itself
    return
  update_id = update.update_id if isinstance(update, Update) else None
  logger.error("Error handling update %s: %r", update_id, error, exc_info=error)
  if not isinstance(update, Update) or update.effective_chat is None:
    return
  user = update.effective_user
  language = ((user.language_code or "") if user else "")[:2]
  codes = {code for code, _name in settings.LANGUAGES}
  with translation.override(language if language in codes else settings.LANGUAGE_CODE):
    text = _("Sorry, something went wrong on our side. Please try again in a minute.")
  kwargs = {}
  if update.effective_message is not None and update.effective_message.is_topic_message:
    kwargs["message_thread_id"] = update.effective_message.message_thread_id
  try:
    await context.bot.send_message(update.effective_chat.id, text, **kwargs)
  except TelegramError as send_error:
    logger.warning("Could not send the error notice: %s", send_error)
