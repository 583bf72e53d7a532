"""Telegram Update -> channel-agnostic Turn. The only place that knows Telegram's message shapes.

Decisions (see docs/telegram.md):
- channel posts, service messages (joins, pins...) and updates without a sender give no Turn:
  they are ignored on purpose (logged at DEBUG);
- stickers, photos, voice, documents, locations, polls... become Turn(kind=UNSUPPORTED);
- in groups a message is `addressed` when it mentions the bot, replies to one of the bot's
  messages or is a command (`/help@this_bot`, or a bare `/help` when it is one of our commands:
  a bare `/weather` is another bot's; `/help@other_bot` is not ours either);
- edited messages become Turns through `turn_from_edit` (the engine updates the stored text).
"""

import logging
import re

from telegram import Chat, Message, MessageEntity, Update, User

from assistant.conversation.commands import COMMANDS
from assistant.types import ChatRef, Sender, Turn, TurnKind

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
# Checked in this order; the first attribute present names the media type.
MEDIA_TYPES = (
  "sticker",
  "photo",
  "voice",
  "video_note",
  "video",
  "animation",
  "audio",
  "document",
  "location",
  "venue",
  "poll",
  "dice",
  "game",
  "story",
  "paid_media",
  "invoice",
)
_COMMAND = re.compile(
  r"^/(?P<name>[A-Za-z0-9_]{1,64})(?:@(?P<bot>[A-Za-z0-9_]{3,64}))?(?P<rest>.*)$", re.S
)


def turn_from_update(update: Update, *, bot: User) -> Turn | None:
  """The Turn for the engine, or None when the update is ignored on purpose."""
  if update.callback_query is not None:
    return _button_turn(update, bot=bot)
  message = update.message
  if message is None:
    logger.debug("Ignoring update %s: %s", update.update_id, _update_kind(update))
    return None
  if message.from_user is None or message.from_user.is_bot:
    logger.debug("Ignoring update %s: no human sender", update.update_id)
    return None
  return _message_turn(update, message, bot=bot)


def turn_from_edit(update: Update, *, bot: User) -> Turn | None:
  """An edited message as a Turn (its new text), or None when there is nothing to store."""
  message = update.edited_message
  if message is None or message.from_user is None or message.from_user.is_bot:
    return None
  return _message_turn(update, message, bot=bot)


def _message_turn(update: Update, message: Message, *, bot: User) -> Turn | None:
  reply = _real_reply(message)
  base = {
    "channel": CHANNEL,
    "sender": sender_from_user(message.from_user),
    "chat": chat_ref(message.chat, message),
    "external_message_id": message.message_id,
    "update_id": update.update_id,
    "reply_to_external_id": reply.message_id if reply is not None else None,
    "bot_username": bot.username or "",
  }
  if message.contact is not None:
    contact_user = message.contact.user_id
    return Turn(
      **base,
      kind=TurnKind.CONTACT,
      contact_phone=message.contact.phone_number,
      contact_user_id=str(contact_user) if contact_user else "",
      addressed=_addressed(message, bot=bot, text=""),
    )
  media = media_type(message)
  if media:
    return Turn(
      **base,
      kind=TurnKind.UNSUPPORTED,
      media_type=media,
      text=message.caption or "",
      addressed=_addressed(message, bot=bot, text=message.caption or ""),
    )
  if message.text is None:
    logger.debug("Ignoring update %s: service message", update.update_id)
    return None
  addressed = _addressed(message, bot=bot, text=message.text)
  return Turn(**base, kind=TurnKind.TEXT, text=clean_text(message, bot=bot), addressed=addressed)


def _button_turn(update: Update, *, bot: User) -> Turn | None:
  query = update.callback_query
  if query.data is None:  # a game button: nothing for the engine
    logger.debug("Ignoring update %s: callback without data", update.update_id)
    return None
  message = query.message
  chat = chat_ref(message.chat, message) if message is not None else _private_ref(query.from_user)
  return Turn(
    channel=CHANNEL,
    sender=sender_from_user(query.from_user),
    chat=chat,
    kind=TurnKind.BUTTON,
    callback_data=query.data,
    external_message_id=message.message_id if message is not None else None,
    update_id=update.update_id,
    bot_username=bot.username or "",
  )


def sender_from_user(user: User) -> Sender:
  return Sender(
    external_id=str(user.id),
    username=user.username or "",
    first_name=user.first_name or "",
    last_name=user.last_name or "",
    language_code=user.language_code or "",
  )


def chat_ref(chat: Chat, message: Message | object | None = None) -> ChatRef:
  thread_id = None
  if isinstance(message, Message) and message.is_topic_message:
    thread_id = message.message_thread_id
  return ChatRef(
    external_id=str(chat.id),
    type=str(chat.type),  # a plain str: no PTB type (ChatType) leaves bot/
    title=chat.title or "",
    thread_id=thread_id,
    is_forum=bool(chat.is_forum),
  )


def _private_ref(user: User) -> ChatRef:
  return ChatRef(external_id=str(user.id), type="private")


def media_type(message: Message) -> str:
  """'photo', 'sticker'... or '' for a text/contact message."""
  for name in MEDIA_TYPES:
    if getattr(message, name, None):
      return name
  return ""


def _addressed(message: Message, *, bot: User, text: str) -> bool:
  if message.chat.type == Chat.PRIVATE:
    return True
  reply = _real_reply(message)
  if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
    return True
  command = _COMMAND.match(text or "")
  if command and message.entities and message.entities[0].type == MessageEntity.BOT_COMMAND:
    if command["bot"] is not None:
      return command["bot"].lower() == (bot.username or "").lower()
    # A bare command may be meant for another bot in the group: ours only if we know it.
    return command["name"].lower() in COMMANDS
  return _mentions(message, bot=bot)


def _real_reply(message: Message) -> Message | None:
  """The message replied to; None for a forum topic's own first message (every topic message
  "replies" to it, which says nothing about who is addressed)."""
  reply = message.reply_to_message
  if reply is not None and reply.forum_topic_created is not None:
    return None
  return reply


def _mentions(message: Message, *, bot: User) -> bool:
  handle = f"@{bot.username}".lower() if bot.username else None
  entities = message.parse_entities() or message.parse_caption_entities()
  for entity, value in entities.items():
    if entity.type == MessageEntity.MENTION and value.lower() == handle:
      return True
    if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
      return True
  return False


def clean_text(message: Message, *, bot: User) -> str:
  """The text without this bot's @handle ('/help@bot x' -> '/help x', '@bot hi' -> 'hi')."""
  text = message.text or ""
  command = _COMMAND.match(text)
  if command and command["bot"] and command["bot"].lower() == (bot.username or "").lower():
    text = f"/{command['name']}{command['rest']}"
  if bot.username and message.chat.type != Chat.PRIVATE:
    text = re.sub(rf"(?i)@{re.escape(bot.username)}\b", "", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
  return text


def _update_kind(update: Update) -> str:
  for name in ("edited_message", "channel_post", "edited_channel_post", "my_chat_member"):
    if getattr(update, name, None) is not None:
      return name
  return "other"
