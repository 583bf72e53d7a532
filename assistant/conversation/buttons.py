"""Inline buttons: `prefix:payload` callback data, every payload validated before use."""

import logging
from collections.abc import Callable

from django.utils.translation import gettext as _

from assistant.conversation.catalog import service_interest, service_show, services_list
from assistant.conversation.contacts import consent_answer
from assistant.conversation.context import TurnContext
from assistant.conversation.feedback import feedback_button
from assistant.conversation.preferences import forget_button, language_button, model_button
from assistant.conversation.scenarios import scenario_button
from assistant.types import Reply

logger = logging.getLogger(__name__)


def _services(ctx: TurnContext, slug: str) -> list[Reply] | None:
  """svc: (empty) lists the catalog, svc:<slug> shows one service."""
  return service_show(ctx, slug) if slug else services_list(ctx)


# Each handler returns None when the payload is not valid (tampered, or a stale button).
BUTTONS: dict[str, Callable[[TurnContext, str], list[Reply] | None]] = {
  "consent": consent_answer,
  "svc": _services,
  "int": service_interest,
  "fb": feedback_button,
  "mdl": model_button,
  "lang": language_button,
  "forget": forget_button,
  "scn": scenario_button,
}


def button_handle(ctx: TurnContext) -> list[Reply]:
  data = ctx.turn.callback_data
  prefix, separator, payload = data.partition(":")
  handler = BUTTONS.get(prefix) if separator else None
  replies = handler(ctx, payload) if handler else None
  if replies is None:
    logger.info("Outdated or unknown button %r from customer #%s", data[:64], ctx.customer.pk)
    if ctx.in_group:
      return []  # often someone else's button (their 👍/👎): no notice for the whole group
    return [Reply(text=_("This button is outdated. Send /start to see the menu again."))]
  return replies
