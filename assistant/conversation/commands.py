"""Slash commands: /start /help /services /model /language /forget /cancel /feedback."""

import logging
import re
from collections.abc import Callable

from django.utils.translation import gettext as _

from assistant.conversation.catalog import services_list
from assistant.conversation.contacts import AFTER_CONSENT, consent_request, has_consent
from assistant.conversation.context import TurnContext
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
  if payload and _PAYLOAD.fullmatch(payload):
    ctx.state_set(START_PAYLOAD, payload)
    ctx.state_set(SOURCE, payload[:40])
    logger.info("Customer #%s came with start payload %s", ctx.customer.pk, payload)
  ctx.state_pop(SCENARIO, FORGET_REQUESTED)
  greeting = greeting_text(ctx.customer)
  if has_consent(ctx):
    return [menu_reply(ctx, greeting)]
  return [Reply(text=greeting, remove_keyboard=True), consent_request(ctx)]


def help_command(ctx: TurnContext, args: str) -> list[Reply]:
  return [Reply(text=help_text(ctx.customer))]


def cancel(ctx: TurnContext, args: str) -> list[Reply]:
  """Leave any scenario or pending input; also removes the "share phone" keyboard."""
  if ctx.state_pop("pending", SCENARIO, FORGET_REQUESTED, AFTER_CONSENT):
    return [Reply(text=_("Cancelled. How else can I help?"), remove_keyboard=True)]
  return [Reply(text=_("There is nothing to cancel. How can I help?"), remove_keyboard=True)]


COMMANDS: dict[str, Callable[[TurnContext, str], list[Reply]]] = {
  "start": start,
  "help": help_command,
  "services": lambda ctx, args: services_list(ctx),
  "model": model_command,
  "language": language_command,
  "forget": lambda ctx, args: forget_command(ctx),
  "cancel": cancel,
  "feedback": feedback_command,
}
