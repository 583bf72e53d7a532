"""Slash commands: /start /help /services /model /language /forget /cancel /feedback."""

import logging
import re
from collections.abc import Callable

from django.utils.translation import gettext as _

from assistant.conversation.catalog import services_list
from assistant.conversation.contacts import (
  AFTER_CONSENT,
  PENDING_CONTACT,
  consent_request,
  contact_ask,
  contact_known,
  has_consent,
)
from assistant.conversation.context import TurnContext, group_source
from assistant.conversation.deeplinks import CONTACT, payload_group
from assistant.conversation.feedback import feedback_command
from assistant.conversation.menu import menu_reply
from assistant.conversation.preferences import (
  FORGET_REQUESTED,
  forget_command,
  language_command,
  model_command,
)
from assistant.conversation.scenarios import SCENARIO
from assistant.conversation.texts import greeting_text, help_text
from assistant.types import Reply
from leads.services import lead_upsert
from memory.models import Chat

logger = logging.getLogger(__name__)

_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s+(.*))?", re.DOTALL)
# Telegram deep-link payloads (t.me/bot?start=...): 1-64 of A-Z a-z 0-9 _ -
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
SOURCE = "source"  # state key: where the customer came from (deep-link payload), the lead's source
START_PAYLOAD = "start_payload"  # state key: the full payload, for features that use it


def command_parse(text: str) -> tuple[str, str] | None:
  """("start", "payload") for "/start@MyBot payload"; None if the text is not a command."""
  match = _COMMAND.fullmatch(text.strip())
  if not match:
    return None
  return match.group(1).lower(), (match.group(2) or "").strip()


def command_handle(ctx: TurnContext, name: str, args: str) -> list[Reply]:
  handler = COMMANDS.get(name)
  if handler is None:
    return [Reply(text=_("I don't know this command. /help lists what I can do."))]
  if name != "cancel":
    ctx.state_pop("pending")  # a command is a change of subject
  return handler(ctx, args)


def start(ctx: TurnContext, args: str) -> list[Reply]:
  """Greeting, then the consent request (until given) or the menu."""
  payload = args.split()[0] if args else ""
  link = None
  if payload and _PAYLOAD.fullmatch(payload):
    link = payload_group(payload)
    ctx.state_set(START_PAYLOAD, payload)
    ctx.state_set(SOURCE, group_source(link[1]) if link else payload[:40])
    logger.info("Customer #%s came with start payload %s", ctx.customer.pk, payload)
  ctx.state_pop(SCENARIO, FORGET_REQUESTED)
  greeting = greeting_text(ctx.customer)
  if link is not None and link[0] == CONTACT:
    return _contact_from_group(ctx, greeting, link[1])
  if has_consent(ctx):
    return [menu_reply(ctx, greeting)]
  return [Reply(text=greeting, remove_keyboard=True), consent_request(ctx)]


def _contact_from_group(ctx: TurnContext, greeting: str, group: Chat) -> list[Reply]:
  """The "write to me privately" button of a group: straight to leaving a contact."""
  intro = _(
    "You came from the group “%(group)s”. Here you can leave your phone or e-mail: only our "
    "team will see it."
  ) % {"group": group.title or group.external_id}
  if contact_known(ctx):
    lead_upsert(customer=ctx.customer, source=ctx.state.get(SOURCE))
    text = _("We already have your contact, a manager will get in touch with you soon.")
    return [menu_reply(ctx, f"{greeting}\n\n{text}")]
  if has_consent(ctx):
    return [Reply(text=greeting), *contact_ask(ctx, text=intro)]
  return [Reply(text=f"{greeting}\n\n{intro}"), consent_request(ctx, after=PENDING_CONTACT)]


def help_command(ctx: TurnContext, args: str) -> list[Reply]:
  return [Reply(text=help_text(ctx.customer))]


def cancel(ctx: TurnContext, args: str) -> list[Reply]:
  """Leave any scenario or pending input; also removes the "share phone" keyboard."""
  if ctx.state_pop("pending", SCENARIO, FORGET_REQUESTED, AFTER_CONSENT):
    return [Reply(text=_("Cancelled. How else can I help?"), remove_keyboard=True)]
  return [Reply(text=_("There is nothing to cancel. How can I help?"), remove_keyboard=True)]


def ask_command(ctx: TurnContext, args: str) -> list[Reply]:
  """/ask without a question (with one, the router sends it to the LLM)."""
  return [Reply(text=_("Write your question after /ask, for example: /ask How much is a website?"))]


def group_only(ctx: TurnContext, args: str) -> list[Reply]:
  """/bot_on, /bot_off in a private chat (groups handle them in assistant/conversation/groups.py)."""
  text = _("This command is for group administrators: send it in the group to switch me on or off.")
  return [Reply(text=text)]


COMMANDS: dict[str, Callable[[TurnContext, str], list[Reply]]] = {
  "start": start,
  "help": help_command,
  "services": lambda ctx, args: services_list(ctx),
  "model": model_command,
  "language": language_command,
  "forget": lambda ctx, args: forget_command(ctx),
  "cancel": cancel,
  "feedback": feedback_command,
  "ask": ask_command,
  "bot_on": group_only,
  "bot_off": group_only,
}
