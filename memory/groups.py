"""Group memory: the short shared context of a group, next to each participant's own thread.

In a group every participant has their own dialogue with the bot (`context_build` gives their
thread as the history); what the others said lately comes as a few quoted lines, so the model
knows what the group is talking about without mixing up whose question it answers:

    Bob: does anyone know if they deliver on Sundays?
    assistant → Bob: Yes, on Sundays from 10 to 16.
    Carol: [sent a photo] our office

Only messages of this group (and forum topic) are read, and contacts typed in groups are stored
masked, so nothing private reaches these lines.
"""

from __future__ import annotations

from django.conf import settings

from memory.models import Chat, Message
from memory.selectors import (
  ELLIPSIS,
  HISTORY_ROLES,
  NEWEST_FIRST,
  MemoryContext,
  _chat_messages,
  message_render,
  participant_name,
)

SHARED_LINE_CHARS = 300  # one shared message is cut to this: it is context, not the question


def shared_context_add(
  context: MemoryContext, *, chat: Chat, thread_id: int | None, exclude: set[int]
) -> None:
  """Fill `context.shared` with the group's latest messages not already in the history."""
  limit = settings.GROUP_SHARED_CONTEXT_MESSAGES
  if limit <= 0:
    return
  skip = exclude | set(context.history_ids)
  rows = _chat_messages(chat=chat, thread_id=thread_id).filter(role__in=HISTORY_ROLES)
  if skip:
    rows = rows.exclude(pk__in=skip)
  newest = list(rows.select_related("customer").order_by(*NEWEST_FIRST)[:limit])
  for message in reversed(newest):
    line = shared_line(message)
    if line:
      context.shared.append(line)
      context.shared_ids.append(message.pk)


def shared_line(message: Message) -> str:
  """'Bob: text', 'assistant → Bob: text' or 'manager: text', cut to SHARED_LINE_CHARS."""
  body = message_render(message)  # without the group's name prefix: added here
  if not body:
    return ""
  person = participant_name(message.customer) if message.customer_id else ""
  if message.role == Message.Role.USER:
    who = person
  elif message.role == Message.Role.OPERATOR:
    who = "manager"
  else:
    who = f"assistant → {person}" if person else "assistant"
  line = f"{who}: {body}" if who else body
  if len(line) > SHARED_LINE_CHARS:
    line = line[: SHARED_LINE_CHARS - len(ELLIPSIS)] + ELLIPSIS
  return line
