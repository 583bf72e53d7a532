"""Input hygiene: control characters, empty and over-long texts, floods from one customer."""

import datetime as dt
import re

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from assistant.conversation.context import TurnContext
from assistant.types import Reply
from leads.services import LAST_SEEN_PRECISION
from memory.selectors import customer_questions_since

# C0 and C1 control characters except tab and newline (they are layout, not noise).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
FLOOD_UNTIL = "flood_until"  # state key: end of the window in which the notice was sent


def text_clean(text: str) -> str:
  """Text without control characters, with uniform line breaks and no outer whitespace."""
  text = text.replace("\r\n", "\n").replace("\r", "\n")
  return _CONTROL.sub("", text).strip()


def text_problem(ctx: TurnContext) -> Reply | None:
  """A polite reply to an empty or over-long text (stored in full, never answered by the LLM)."""
  if not ctx.text:
    return Reply(text=_("Your message is empty. Please write your question in words."))
  limit = settings.MAX_INPUT_CHARS
  if len(ctx.text) > limit:
    text = _(
      "Your message is too long (%(length)s characters). Please shorten it to %(limit)s "
      "characters or split it into several messages."
    )
    return Reply(text=text % {"length": len(ctx.text), "limit": limit})
  return None


def flood_check(ctx: TurnContext) -> list[Reply] | None:
  """None when the customer writes at a normal pace; else one notice per window, then silence."""
  now = timezone.now()
  window = dt.timedelta(seconds=settings.FLOOD_WINDOW_SECONDS)
  previously = getattr(ctx.customer, "previously_seen_at", now)
  if previously is None or previously < now - window - LAST_SEEN_PRECISION:
    return None  # nothing else from them in the window (customer_upsert): no need to count
  # A read on the (customer, -created_at) index; it counts what is stored, so restarts don't reset it.
  # Group talk not addressed to the bot is stored but does not count: it asks nothing of us.
  limit = settings.FLOOD_MAX_MESSAGES
  recent = customer_questions_since(customer=ctx.customer, since=now - window, at_most=limit + 1)
  if recent <= limit:
    return None
  until = ctx.state.get(FLOOD_UNTIL)
  if isinstance(until, str) and dt.datetime.fromisoformat(until) > now:
    return []
  ctx.state_set(FLOOD_UNTIL, (now + window).isoformat())
  text = _(
    "You're sending messages too fast. I've saved them all; please wait a minute "
    "before writing again."
  )
  return [Reply(text=text)]
