"""Groups on Telegram: the bot joining and leaving, migrations, edits, members, admin checks.

| update | what happens |
|---|---|
| `my_chat_member` (the bot added/removed) | `Chat.bot_is_member` updated; when added, a short hello (or "not enabled here" in allow-list mode) |
| `migrate_to_chat_id` / `migrate_from_chat_id` | the chat's history and settings move to the supergroup's id (both messages may come, in any order) |
| `edited_message` | the stored text follows the edit (search index too); the answer to the original stands |
| `new_chat_members`, `left_chat_member` | ignored on purpose: nobody's comings and goings are recorded |
| `/bot_on`, `/bot_off` | the sender's admin status is checked with `getChatMember` (`Turn.is_group_admin`) |
"""

import dataclasses
import logging

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, Update, User
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ChatMemberHandler, ContextTypes, MessageHandler, filters

from assistant.conversation.commands import command_parse
from assistant.conversation.groups import SWITCH_COMMANDS
from assistant.db import run_db
from assistant.types import Sender, Turn, TurnKind
from bot.convert import CHANNEL, chat_ref, clean_text, turn_from_edit
from bot.sender import ReplySender
from bot.services import chat_membership_set, chat_migrate

logger = logging.getLogger(__name__)

MEMBER_STATUSES = {"member", "administrator", "creator", "restricted"}
ADMIN_STATUSES = {"administrator", "creator"}
ENGINE_KEY = "engine"  # bot.handlers.ENGINE_KEY (not imported: handlers imports this module)


def register_group_handlers(application: Application) -> None:
  application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, on_migrate))
  members = filters.StatusUpdate.NEW_CHAT_MEMBERS | filters.StatusUpdate.LEFT_CHAT_MEMBER
  application.add_handler(MessageHandler(members, on_members))
  application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edited))
  application.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))


async def on_my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
  """The bot was added to or removed from a chat: recorded; a hello when it was added."""
  change = update.my_chat_member
  ref = chat_ref(change.chat)
  was_member = change.old_chat_member.status in MEMBER_STATUSES
  is_member = change.new_chat_member.status in MEMBER_STATUSES
  await run_db(
    chat_membership_set,
    channel=CHANNEL,
    external_id=ref.external_id,
    type=ref.type,
    title=ref.title,
    is_member=is_member,
  )
  if was_member or not is_member or ref.type == "private":
    return
  engine = context.application.bot_data[ENGINE_KEY]
  who = change.from_user
  replies = await engine.group_joined(
    channel=CHANNEL, chat=ref, language_code=(who.language_code or "") if who else ""
  )
  sender = ReplySender(context.bot, Turn(channel=CHANNEL, sender=Sender(external_id=""), chat=ref))
  for reply in replies:
    try:
      sent = await sender.send(reply)
    except Forbidden as error:  # removed again at once
      logger.info("Cannot greet chat %s: %s", ref.external_id, error.message)
      return
    if sent is not None and reply.message_id is not None:
      await engine.reply_sent(message_id=reply.message_id, external_message_id=sent.message_id)


async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
  """A group became a supergroup: its history follows the new chat id.

  Telegram sends `migrate_to_chat_id` in the old group and `migrate_from_chat_id` in the new
  supergroup; they may be handled in either order (or at once), and the second finds it done.
  """
  message = update.message
  if message.migrate_to_chat_id:
    old, new = message.chat.id, message.migrate_to_chat_id
  else:
    old, new = message.migrate_from_chat_id, message.chat.id
  await run_db(chat_migrate, channel=CHANNEL, old_external_id=str(old), new_external_id=str(new))


async def on_members(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
  """People joining or leaving a group: ignored on purpose (the bot keeps no roster)."""
  logger.debug("Ignoring update %s: members joined or left", update.update_id)


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
  """A message was edited: the stored text follows; nothing is answered again."""
  turn = turn_from_edit(update, bot=context.bot.bot)
  if turn is None:
    logger.debug("Ignoring update %s: edited message without text", update.update_id)
    return
  engine = context.application.bot_data[ENGINE_KEY]
  if not await engine.handle_edit(turn):
    logger.debug("Edited message %s is not stored", turn.external_message_id)


async def admin_checked(turn: Turn, bot: Bot) -> Turn:
  """The turn with `is_group_admin` set when it is /bot_on or /bot_off in a group."""
  if turn.chat.type == "private" or not turn.addressed or not is_switch(turn):
    return turn
  if turn.is_group_admin:  # an anonymous administrator: sent as the group itself
    return turn
  try:
    member = await bot.get_chat_member(int(turn.chat.external_id), int(turn.sender.external_id))
  except TelegramError as error:
    logger.warning("Could not check the admin status in chat %s: %s", turn.chat.external_id, error)
    return turn
  return dataclasses.replace(turn, is_group_admin=member.status in ADMIN_STATUSES)


def is_switch(turn: Turn) -> bool:
  command = command_parse(turn.text) if turn.kind == TurnKind.TEXT else None
  return command is not None and command[0] in SWITCH_COMMANDS


def anonymous_admin_turn(update: Update, *, bot: User) -> Turn | None:
  """/bot_on or /bot_off from an anonymous administrator (Telegram sends it "as the group").

  Anything else such a sender writes is ignored, like other bots' messages.
  """
  message = update.message
  if message is None or message.text is None or message.sender_chat is None:
    return None
  if message.sender_chat.id != message.chat.id:
    return None  # a channel's post in its discussion group, not an administrator
  text = clean_text(message, bot=bot)
  command = command_parse(text)
  if command is None or command[0] not in SWITCH_COMMANDS or "@" in text.split()[0]:
    return None  # "@" left after cleaning: the command names another bot
  return Turn(
    channel=CHANNEL,
    sender=Sender(external_id=str(message.chat.id), first_name=message.chat.title or ""),
    chat=chat_ref(message.chat, message),
    text=text,
    external_message_id=message.message_id,
    update_id=update.update_id,
    is_group_admin=True,
    bot_username=bot.username or "",
  )


def group_command_menu(language: str) -> list[BotCommand]:
  """The command menu members see in groups (English msgids, translated)."""
  with translation.override(language):
    return [
      BotCommand("ask", _("Ask the assistant a question")),
      BotCommand("services", _("Our services and prices")),
      BotCommand("help", _("How to use the assistant")),
      BotCommand("forget", _("Delete my messages in this group")),
      BotCommand("bot_off", _("Admins: switch the assistant off here")),
      BotCommand("bot_on", _("Admins: switch the assistant on here")),
    ]


async def group_setup(bot: Bot) -> None:
  """Start-up: the group command menus, and what privacy mode lets the bot see in groups."""
  scope = BotCommandScopeAllGroupChats()
  await bot.set_my_commands(group_command_menu(settings.LANGUAGE_CODE), scope=scope)
  for code, _name in settings.LANGUAGES:
    await bot.set_my_commands(group_command_menu(code), scope=scope, language_code=code)
  log_privacy_mode(bot.bot)


def log_privacy_mode(bot: User) -> None:
  """Say at start-up what the bot will see in groups (BotFather's /setprivacy)."""
  if bot.can_read_all_group_messages:
    logger.info("Privacy mode is off: the bot sees every group message (answers when addressed)")
  else:
    logger.info(
      "Privacy mode is on: in groups the bot sees only commands, replies to it and mentions"
    )
