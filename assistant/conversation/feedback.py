"""👍/👎 on answers, a comment after 👎, and free feedback (/feedback)."""

from django.utils.translation import gettext as _

from assistant.conversation.context import TurnContext
from assistant.types import Button, Reply
from leads.models import Feedback
from leads.services import feedback_comment_set, feedback_leave, feedback_rate
from memory.models import Message

PENDING_COMMENT = "feedback_comment"  # pending input: the comment to a 👎 ({"feedback_id": pk})
PENDING_FREE = "feedback"  # pending input: free feedback after /feedback
MAX_FEEDBACK_CHARS = 4000


def feedback_buttons(message_id: int) -> list[list[Button]]:
  """The 👍/👎 row every LLM answer carries."""
  return [
    [Button(text="👍", data=f"fb:up:{message_id}"), Button(text="👎", data=f"fb:down:{message_id}")]
  ]


def feedback_button(ctx: TurnContext, payload: str) -> list[Reply] | None:
  """fb:up|down:<message id> for one of this customer's answers; None for anything else."""
  rating, _sep, message_id = payload.partition(":")
  if rating not in {"up", "down"} or not message_id.isdigit():
    return None
  message = Message.objects.filter(
    pk=int(message_id), customer=ctx.customer, role=Message.Role.ASSISTANT
  ).first()
  if message is None:
    return None
  up = rating == "up"
  ctx.label = "👍" if up else "👎"
  value = Feedback.Rating.UP if up else Feedback.Rating.DOWN
  feedback = feedback_rate(customer=ctx.customer, message=message, rating=value)
  if up:
    return [Reply(text=_("Thank you for the feedback!"))]
  ctx.pending_set(PENDING_COMMENT, feedback_id=feedback.pk)
  text = _(
    "Sorry the answer didn't help. What was wrong? Write a comment, or send /cancel to skip."
  )
  return [Reply(text=text)]


def feedback_command(ctx: TurnContext, args: str) -> list[Reply]:
  """/feedback <text> stores it at once; /feedback alone waits for the next message."""
  if args:
    return _leave(ctx, args)
  ctx.pending_set(PENDING_FREE)
  text = _(
    "Write your feedback in one message: what you liked and what we should improve. /cancel to skip."
  )
  return [Reply(text=text)]


def feedback_pending(ctx: TurnContext, kind: str) -> list[Reply] | None:
  """The text we waited for: a 👎 comment or free feedback. None if `kind` is not ours."""
  if kind == PENDING_COMMENT:
    feedback_id = (ctx.pending or {}).get("feedback_id")
    ctx.state_pop("pending")
    comment = ctx.text[:MAX_FEEDBACK_CHARS]
    if isinstance(feedback_id, int) and feedback_comment_set(
      customer=ctx.customer, feedback_id=feedback_id, comment=comment
    ):
      return [Reply(text=_("Thank you! I've passed your comment to the team."))]
    return _leave(ctx, comment)  # the rating is gone (erased): keep the words anyway
  if kind == PENDING_FREE:
    ctx.state_pop("pending")
    return _leave(ctx, ctx.text)
  return None


def _leave(ctx: TurnContext, comment: str) -> list[Reply]:
  feedback_leave(customer=ctx.customer, comment=comment[:MAX_FEEDBACK_CHARS])
  return [Reply(text=_("Thank you! I've passed your feedback to the team."))]
