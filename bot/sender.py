"""Sends the engine's Replies to Telegram: keyboards, long texts split, streaming edits, typing."""

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
from collections.abc import AsyncIterator

from django.conf import settings
from telegram import (
  Bot,
  InlineKeyboardButton,
  InlineKeyboardMarkup,
  KeyboardButton,
  Message,
  ReplyKeyboardMarkup,
  ReplyKeyboardRemove,
)
from telegram.constants import ChatAction, MessageLimit
from telegram.error import BadRequest, Forbidden, TelegramError

from assistant.types import Reply, Turn

logger = logging.getLogger(__name__)

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted in UTF-16 code units
# Where a long text may be cut, best first; a cut must keep at least half of the limit.
_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"[.!?…]+[)\"»']*\s"))

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def utf16_len(text: str) -> int:
  return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
  """Pieces of at most `limit` UTF-16 units, cut at a paragraph, line, sentence or word end."""
  pieces: list[str] = []
  rest = text.strip()
  while utf16_len(rest) > limit:
    head = _prefix_within(rest, limit)
    cut = _best_cut(head)
    pieces.append(rest[:cut].rstrip())
    rest = rest[cut:].lstrip()
  if rest:
    pieces.append(rest)
  return pieces


def _prefix_within(text: str, limit: int) -> str:
  units = 0
  for index, char in enumerate(text):
    units += 2 if ord(char) > 0xFFFF else 1
    if units > limit:
      return text[:index]
  return text  # pragma: no cover - callers only pass texts over the limit


def _best_cut(head: str) -> int:
  half = len(head) // 2
  for pattern in _BOUNDARIES:
    ends = [m.end() for m in pattern.finditer(head) if m.end() >= half]
    if ends:
      return ends[-1]
  space = head.rfind(" ")
  return space + 1 if space >= half else len(head)


def reply_markups(reply: Reply, pieces: int) -> list[Markup | None]:
  """The markup of each piece: a reply keyboard goes on the first, inline buttons on the last."""
  markups: list[Markup | None] = [None] * pieces
  if reply.request_contact:
    button = KeyboardButton(reply.request_contact, request_contact=True)
    markups[0] = ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
  elif reply.remove_keyboard:
    markups[0] = ReplyKeyboardRemove()
  if reply.buttons:
    if markups[-1] is not None:
      # One message carries one keyboard; the engine should not ask for both in a short reply.
      logger.warning("Reply has inline buttons and a reply keyboard; the buttons win")
    markups[-1] = inline_keyboard(reply)
  return markups


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup:
  rows = [
    [
      InlineKeyboardButton(b.text, url=b.url)
      if b.url
      else InlineKeyboardButton(b.text, callback_data=b.data)
      for b in row
    ]
    for row in reply.buttons
  ]
  return InlineKeyboardMarkup(rows)


class ReplySender:
  """Sends the replies of one turn into its chat (and topic)."""

  def __init__(self, bot: Bot, turn: Turn) -> None:
    self.bot = bot
    self.chat_id = int(turn.chat.external_id)
    self.thread_id = turn.chat.thread_id
    self.group = turn.chat.type != "private"
    # In groups the answer quotes the question, so participants see whom it is for.
    self.reply_to = turn.external_message_id if self.group else None

  def markups(self, reply: Reply, pieces: int) -> list[Markup | None]:
    """`reply_markups`, never with a reply keyboard in a group: it would show everyone a
    "share phone" button (contacts are left in the private chat only)."""
    if self.group and (reply.request_contact or reply.remove_keyboard):
      reply = dataclasses.replace(reply, request_contact="", remove_keyboard=False)
    return reply_markups(reply, pieces)

  async def send(self, reply: Reply) -> Message | None:
    """Send one reply (split if long); returns the last message sent (it carries the buttons)."""
    pieces = split_text(reply.text)
    if not pieces:
      logger.warning("Skipping an empty reply to chat %s", self.chat_id)
      return None
    markups = self.markups(reply, len(pieces))
    last = None
    for text, markup in zip(pieces, markups, strict=True):
      last = await self.send_text(text, markup)
    return last

  async def send_text(self, text: str, markup: Markup | None = None) -> Message:
    kwargs: dict = {"chat_id": self.chat_id, "text": text, "reply_markup": markup}
    if self.thread_id is not None:
      kwargs["message_thread_id"] = self.thread_id
    if self.reply_to is not None:
      kwargs["reply_to_message_id"] = self.reply_to
      kwargs["allow_sending_without_reply"] = True
      self.reply_to = None  # quote once per turn
    return await self.bot.send_message(**kwargs)

  async def edit_text(
    self, message_id: int, text: str, markup: InlineKeyboardMarkup | None
  ) -> None:
    """Edit a sent message; "message is not modified" is not an error."""
    try:
      await self.bot.edit_message_text(
        text, chat_id=self.chat_id, message_id=message_id, reply_markup=markup
      )
    except BadRequest as error:
      if "not modified" not in error.message.lower():
        raise


class StreamEditor:
  """Shows a streaming answer: sends it once, then edits it at most once per interval."""

  def __init__(self, sender: ReplySender, *, interval: float) -> None:
    self.sender = sender
    self.interval = interval
    self.message: Message | None = None
    self._shown = ""
    self._latest = ""
    self._last_edit = 0.0
    self._flush: asyncio.Task | None = None
    self._lock = asyncio.Lock()

  async def __call__(self, text_so_far: str) -> None:
    """The engine's StreamCallback: called with the whole text so far."""
    self._latest = _preview(text_so_far)
    if self.message is None:
      async with self._lock:
        if self.message is None and self._latest:
          self.message = await self.sender.send_text(self._latest)
          self._shown, self._last_edit = self._latest, time.monotonic()
      return
    if self._flush is None or self._flush.done():
      self._flush = asyncio.create_task(self._edit_later())

  async def _edit_later(self) -> None:
    await asyncio.sleep(max(0.0, self._last_edit + self.interval - time.monotonic()))
    async with self._lock:
      if self._latest != self._shown:
        with contextlib.suppress(TelegramError):  # a lost preview edit is harmless
          await self.sender.edit_text(self.message.message_id, self._latest, None)
        self._shown, self._last_edit = self._latest, time.monotonic()

  async def finish(self, reply: Reply) -> Message | None:
    """Replace the preview with the final text and its keyboard; returns the last message."""
    if self._flush is not None:
      self._flush.cancel()
      with contextlib.suppress(asyncio.CancelledError):
        await self._flush
    if self.message is None:  # nothing was streamed after all
      return await self.sender.send(reply)
    pieces = split_text(reply.text) or [self._shown]
    markups = self.sender.markups(reply, len(pieces))
    first_markup = markups[0] if isinstance(markups[0], InlineKeyboardMarkup) else None
    await self.sender.edit_text(self.message.message_id, pieces[0], first_markup)
    last = self.message
    for text, markup in zip(pieces[1:], markups[1:], strict=True):
      last = await self.sender.send_text(text, markup)
    return last


def _preview(text: str) -> str:
  text = text.strip()
  if utf16_len(text) <= TEXT_LIMIT:
    return text
  return _prefix_within(text, TEXT_LIMIT - 1) + "…"


@contextlib.asynccontextmanager
async def typing(bot: Bot, turn: Turn) -> AsyncIterator[None]:
  """Show "typing…" while the body runs, repeated because Telegram clears it after ~5 s."""
  task = asyncio.create_task(_keep_typing(bot, turn, settings.TELEGRAM_TYPING_INTERVAL))
  try:
    yield
  finally:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
      await task


async def _keep_typing(bot: Bot, turn: Turn, interval: float) -> None:
  kwargs: dict = {"chat_id": int(turn.chat.external_id), "action": ChatAction.TYPING}
  if turn.chat.thread_id is not None:
    kwargs["message_thread_id"] = turn.chat.thread_id
  while True:
    try:
      await bot.send_chat_action(**kwargs)
    except (Forbidden, BadRequest) as error:  # blocked or gone: no point repeating
      logger.debug("Typing action failed for chat %s: %s", turn.chat.external_id, error)
      return
    except TelegramError as error:
      logger.debug("Typing action failed for chat %s: %s", turn.chat.external_id, error)
    await asyncio.sleep(interval)
