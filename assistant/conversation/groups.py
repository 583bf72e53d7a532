"""Group chats: the admins' on/off switch, the business's allow-list, group commands, contacts.

A group turn passes `group_gate` before anything about the person is stored:
  - /bot_on, /bot_off: the group's administrators (the channel checks, `Turn.is_group_admin`)
    switch the bot on or off in their group;
  - a group the business has not allowed (`Chat.allowed`, see GROUPS_ALLOWLIST_ONLY) is told
    once that the bot is not enabled there, then ignored; a switched-off group is ignored.
Then `group_route` handles what differs from a private chat: /start, /help and /forget (your
own messages in this group only), contacts (never taken in a group: a link to the private
chat instead), other people's buttons (silence). Everything else goes the private chat's way.
"""

import logging

from django.utils import translation
from django.utils.translation import gettext as _

from assistant.conversation.answer import answer_prepare
from assistant.conversation.commands import command_parse
from assistant.conversation.contacts import _looks_like_question
from assistant.conversation.context import Outcome, TurnContext, button
from assistant.conversation.deeplinks import GROUP, contact_invite, private_chat_button
from assistant.conversation.inputs import text_clean
from assistant.conversation.preferences import FORGET_REQUESTED
from assistant.conversation.router import route
from assistant.conversation.texts import business_text
from assistant.types import ChatRef, Reply, Turn, TurnKind
from leads.contacts import EMAIL_MASK, PHONE_MASK
from leads.models import Customer
from leads.services import customer_state_save, language_from_code
from memory.models import Chat, Message
from memory.selectors import participant_name
from memory.services import customer_forget_chat, message_store_outbound

logger = logging.getLogger(__name__)

SWITCH_COMMANDS = {"bot_on": True, "bot_off": False}


# --- before anything is stored ------------------------------------------------------------------
def group_gate(turn: Turn, chat: Chat) -> Outcome | None:
  """An Outcome that ends the turn (switch command, group switched off or not allowed) or None."""
  command = command_parse(text_clean(turn.text)) if turn.kind == TurnKind.TEXT else None
  if turn.addressed and command is not None and command[0] in SWITCH_COMMANDS:
    return Outcome(_switch(turn, chat, on=SWITCH_COMMANDS[command[0]]))
  if not chat.bot_is_member:  # a message from the group proves the bot is in it
    _chat_save(chat, bot_is_member=True)
  if not chat.allowed:
    return Outcome(_not_allowed_notice(turn, chat) if turn.addressed else [])
  if chat.not_allowed_notice_sent:  # allowed since: tell it again if it is ever disallowed
    _chat_save(chat, not_allowed_notice_sent=False)
  if not chat.bot_enabled:
    return Outcome()  # switched off by the group's admins: nothing read, nothing stored
  return None


def _switch(turn: Turn, chat: Chat, *, on: bool) -> list[Reply]:
  with translation.override(_language(turn)):
    if not turn.is_group_admin:
      return [Reply(text=_("Only the group's administrators can switch me on or off."))]
    if chat.bot_enabled != on:
      _chat_save(chat, bot_enabled=on)
      logger.info(
        "Bot switched %s in chat #%s by user %s", "on" if on else "off", chat.pk, _who(turn)
      )
    if not on:
      text = _(
        "Done: I'm switched off in this group. I won't read or answer messages here until an "
        "administrator sends /bot_on."
      )
      return [Reply(text=text)]
    text = _("I'm on in this group. Mention me or reply to my message to ask a question.")
    if not chat.allowed:
      text += "\n" + _("The business hasn't allowed me in this group yet, so I'll stay silent.")
    return [Reply(text=text)]


def _not_allowed_notice(turn: Turn, chat: Chat) -> list[Reply]:
  """Said once per group (until the business allows it): afterwards the bot stays silent."""
  if chat.not_allowed_notice_sent:
    return []
  _chat_save(chat, not_allowed_notice_sent=True)
  logger.info("Chat #%s is not allowed: told the group once", chat.pk)
  with translation.override(_language(turn)):
    return [Reply(text=not_allowed_text())]


def not_allowed_text() -> str:
  return _(
    "I'm not enabled in this group yet. Please ask the business that runs me to allow it; "
    "until then I'll stay silent here."
  )


def _chat_save(chat: Chat, **changes: bool) -> None:
  for field, value in changes.items():
    setattr(chat, field, value)
  chat.save(update_fields=[*changes, "updated_at"])


def _language(turn: Turn) -> str:
  """The sender's chosen language if we know them, else their channel's language."""
  chosen = (
    Customer.objects.filter(channel=turn.channel, external_id=turn.sender.external_id)
    .values_list("language", flat=True)
    .first()
  )
  return chosen or language_from_code(turn.sender.language_code)


def _who(turn: Turn) -> str:
  return f"@{turn.sender.username}" if turn.sender.username else turn.sender.external_id


# --- when the bot joins -------------------------------------------------------------------------
def group_welcome(*, channel: str, chat: ChatRef, language_code: str = "") -> list[Reply]:
  """The bot was added to a group: a short hello (stored), or the "not enabled here" notice."""
  row = Chat.objects.filter(channel=channel, external_id=chat.external_id).first()
  if row is None or row.type == Chat.Type.PRIVATE or not row.bot_enabled:
    return []  # switched off by the group's admins before: it stays quiet
  with translation.override(language_from_code(language_code)):
    if not row.allowed:
      _chat_save(row, not_allowed_notice_sent=True)
      return [Reply(text=not_allowed_text())]
    text = _(
      "Hello, everyone! I'm the business's assistant. Mention me or reply to my message to ask "
      "a question, /services shows what we offer. I answer only when addressed. Group "
      "administrators can switch me off with /bot_off."
    )
  message = message_store_outbound(chat=row, customer=None, text=text)
  return [Reply(text=text, message_id=message.pk)]


# --- routing ------------------------------------------------------------------------------------
def group_route(ctx: TurnContext) -> Outcome:
  """What differs in groups; the rest is routed as in a private chat (`router.route`)."""
  kind = ctx.turn.kind
  if kind == TurnKind.CONTACT:
    return Outcome(contacts_moved(ctx))
  if kind == TurnKind.BUTTON:
    prefix, _sep, payload = ctx.turn.callback_data.partition(":")
    if prefix == "forget":
      return Outcome(forget_button(ctx, payload))
    return route(ctx)
  command = command_parse(ctx.text) if kind == TurnKind.TEXT else None
  if command is not None and command[0] in GROUP_COMMANDS:
    return Outcome(GROUP_COMMANDS[command[0]](ctx, command[1]))
  if ctx.contacts_hidden and command is None:
    replies = contacts_moved(ctx)
    rest = ctx.text.replace(PHONE_MASK, " ").replace(EMAIL_MASK, " ")
    return answer_prepare(ctx, replies=replies) if _looks_like_question(rest) else Outcome(replies)
  return route(ctx)


def contacts_moved(ctx: TurnContext) -> list[Reply]:
  """A phone or e-mail typed or shared in the group: not saved; the private chat offered."""
  text = _(
    "%(name)s, please don't post phone numbers or e-mails in the group: I haven't saved it. "
    "Write to me privately and our team will contact you."
  ) % {"name": participant_name(ctx.customer)}
  return contact_invite(ctx, text)


def start(ctx: TurnContext, args: str) -> list[Reply]:
  """/start in a group: a greeting by first name and how to talk to the bot here."""
  name = participant_name(ctx.customer)
  greeting = business_text("greeting", language=ctx.language, name=name)
  return [Reply(text=f"{greeting}\n\n{_help_text()}", buttons=private_chat_button(ctx, GROUP))]


def help_command(ctx: TurnContext, args: str) -> list[Reply]:
  return [Reply(text=_help_text(), buttons=private_chat_button(ctx, GROUP))]


def _help_text() -> str:
  return _(
    "In this group I answer when you mention me, reply to my message or write /ask and your "
    "question. /services shows our services, /forget deletes what you wrote here. Group "
    "administrators can switch me off with /bot_off and back on with /bot_on. For personal "
    "questions, write to me privately."
  )


def forget(ctx: TurnContext, args: str) -> list[Reply]:
  """/forget in a group: the person's own messages in this group, after a confirmation."""
  ctx.state_set(FORGET_REQUESTED, True)
  count = Message.objects.filter(chat=ctx.chat, customer=ctx.customer, role=Message.Role.USER)
  text = _(
    "I'll delete your messages in this group that I keep (%(count)s) and my answers to them. "
    "Our private chat is not affected: to delete everything I store about you, send /forget "
    "to me privately. Delete?"
  ) % {"count": count.count()}
  buttons = [[button(_("🗑 Yes, delete"), "forget:yes"), button(_("No, keep"), "forget:no")]]
  return [Reply(text=text, buttons=buttons)]


def forget_button(ctx: TurnContext, payload: str) -> list[Reply]:
  """forget:yes|no pressed by the person who sent /forget here; anybody else's press: silence."""
  if payload not in {"yes", "no"} or not ctx.state.get(FORGET_REQUESTED):
    return []
  ctx.state_pop(FORGET_REQUESTED)
  if payload == "no":
    ctx.label = _("No, keep")
    return [Reply(text=_("OK, nothing was deleted."))]
  counts = customer_forget_chat(customer=ctx.customer, chat=ctx.chat)
  ctx.state_clear()
  customer_state_save(customer=ctx.customer, state=ctx.customer.state)
  ctx.forgotten = True  # this press was one of the deleted messages: store nothing more
  text = _(
    "Done: I've deleted your messages in this group (%(messages)s). To delete everything I "
    "store about you, send /forget to me privately."
  ) % {"messages": counts["messages"]}
  return [Reply(text=text)]


GROUP_COMMANDS = {"start": start, "help": help_command, "forget": forget}
