"""Which part of the dialogue a turn belongs to."""

from django.utils.translation import gettext as _

from assistant.conversation.answer import answer_prepare
from assistant.conversation.buttons import button_handle
from assistant.conversation.commands import command_handle, command_parse
from assistant.conversation.contacts import PENDING_CONTACT, contact_shared, contact_typed
from assistant.conversation.context import Outcome, TurnContext
from assistant.conversation.feedback import feedback_pending
from assistant.conversation.inputs import text_problem
from assistant.conversation.scenarios import scenario_active, scenario_text
from assistant.types import Reply, TurnKind


def route(ctx: TurnContext) -> Outcome:
  """Buttons, contacts and unsupported media first; texts go through `text_route`."""
  kind = ctx.turn.kind
  if kind == TurnKind.BUTTON:
    return Outcome(button_handle(ctx))
  if kind == TurnKind.CONTACT:
    return Outcome(contact_shared(ctx))
  if kind == TurnKind.UNSUPPORTED:
    text = _(
      "Sorry, I can only read text messages (and a phone shared with the button). "
      "Please write your question in words."
    )
    return Outcome([Reply(text=text)])
  return text_route(ctx)


def text_route(ctx: TurnContext) -> Outcome:
  """Command → awaited input → scenario answer → typed contact → the LLM."""
  problem = text_problem(ctx)
  if problem is not None:
    return Outcome([problem])
  command = command_parse(ctx.text)
  if command is not None and command[0] == "ask" and command[1]:
    ctx.state_pop("pending")  # a question is a change of subject, like any command
    return answer_prepare(ctx, query=command[1])
  if command is not None:
    return Outcome(command_handle(ctx, *command))
  pending = ctx.pending
  if pending is not None:
    kind = str(pending.get("kind"))
    replies = feedback_pending(ctx, kind)
    if replies is not None:
      return Outcome(replies)
    if kind != PENDING_CONTACT:
      ctx.state_pop("pending")  # left by an older version: don't wait for it forever
  if scenario_active(ctx):
    replies = scenario_text(ctx)
    if replies is not None:
      return Outcome(replies)
  typed = contact_typed(ctx)
  if typed is not None:
    replies, needs_answer = typed
    return answer_prepare(ctx, replies=replies) if needs_answer else Outcome(replies)
  return answer_prepare(ctx)
