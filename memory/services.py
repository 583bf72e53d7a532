"""Writes for chats and messages: every inbound and outbound message is stored, once."""

from __future__ import annotations

import functools
import logging
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from assistant.prepared import PreparedQuery
from leads.models import Customer, Feedback, Lead
from memory.models import Chat, Message

if TYPE_CHECKING:
  from llm.client import Completion
  from llm.models import PromptVersion

logger = logging.getLogger(__name__)

# Every message looks its chat up: compiled once (unique on channel + external id).
_CHAT_BY_EXTERNAL_ID = PreparedQuery(
  lambda p: Chat.objects.filter(
    channel=p.str("channel"), external_id=p.str("external_id")
  ).order_by()[:1]
)


def savepoint() -> AbstractContextManager:
  """Around one write that may raise IntegrityError: a savepoint inside a transaction keeps it
  usable; outside one the statement commits by itself, so BEGIN/COMMIT would only cost time."""
  return transaction.atomic() if connection.in_atomic_block else nullcontext()


def chat_upsert(
  *,
  channel: str,
  external_id: str,
  type: str = Chat.Type.PRIVATE,  # noqa: A002 - the model's field name
  title: str = "",
  is_forum: bool = False,
) -> Chat:
  """The chat behind a channel's chat id, created on first message; title and forum flag kept fresh."""
  chat = _CHAT_BY_EXTERNAL_ID.first(channel=channel, external_id=external_id)
  if chat is None:
    chat_type = type if type in Chat.Type.values else Chat.Type.PRIVATE
    try:
      with savepoint():
        return Chat.objects.create(
          channel=channel,
          external_id=external_id,
          type=chat_type,
          title=title[:255],
          is_forum=is_forum,
          # Allow-list mode: a new group waits until staff allow it in the admin.
          allowed=chat_type == Chat.Type.PRIVATE or not settings.GROUPS_ALLOWLIST_ONLY,
        )
    except IntegrityError:  # created by a parallel update of the same chat
      chat = Chat.objects.get(channel=channel, external_id=external_id)
  changes = {"title": title[:255] or chat.title, "is_forum": is_forum}
  changed = [field for field, value in changes.items() if getattr(chat, field) != value]
  if changed:
    for field in changed:
      setattr(chat, field, changes[field])
    chat.save(update_fields=[*changed, "updated_at"])
  return chat


def message_store_inbound(
  *,
  chat: Chat,
  customer: Customer,
  text: str,
  kind: str = "text",
  external_message_id: int | None,
  update_id: int | None,
  thread_id: int | None = None,
  addressed: bool = True,
) -> tuple[Message, bool]:
  """Store what the customer sent; a redelivered update or message returns (stored one, False)."""
  try:
    # The unique constraints (update id; chat + message id) catch duplicates, racing ones too.
    # Duplicates are rare, so no look-up first; the savepoint keeps an outer transaction usable.
    with savepoint():
      message = Message.objects.create(
        chat=chat,
        customer=customer,
        role=Message.Role.USER,
        text=text,
        kind=kind[:20],
        external_message_id=external_message_id,
        update_id=update_id,
        thread_id=thread_id,
        addressed=addressed,
      )
  except IntegrityError:
    existing = _inbound_duplicate(
      chat=chat, external_message_id=external_message_id, update_id=update_id
    )
    if existing is None:
      raise
    return existing, False
  return message, True


def _inbound_duplicate(
  *, chat: Chat, external_message_id: int | None, update_id: int | None
) -> Message | None:
  condition = Q(pk__in=[])  # matches nothing: a message without ids has no duplicate
  if update_id is not None:
    condition |= Q(update_id=update_id)
  if external_message_id is not None:
    condition |= Q(chat=chat, external_message_id=external_message_id, role=Message.Role.USER)
  return Message.objects.filter(condition).first()


def message_store_outbound(
  *,
  chat: Chat,
  customer: Customer | None,
  text: str,
  completion: Completion | None = None,
  prompt_version: PromptVersion | None = None,
  is_fallback: bool = False,
  thread_id: int | None = None,
  reply_to: Message | None = None,
) -> Message:
  """Store an assistant message, with the model's usage when it came from the LLM."""
  message = _outbound(
    chat=chat,
    customer=customer,
    text=text,
    completion=completion,
    prompt_version=prompt_version,
    is_fallback=is_fallback,
    thread_id=thread_id,
    reply_to=reply_to,
  )
  message.save(force_insert=True)
  return message


def message_store_answer(
  *,
  reply_to: Message,
  chat: Chat,
  customer: Customer | None,
  text: str,
  completion: Completion | None = None,
  prompt_version: PromptVersion | None = None,
  is_fallback: bool = False,
  thread_id: int | None = None,
) -> Message | None:
  """Store the answer to `reply_to`, unless that message is gone (erased by /forget while the
  model was answering): then None. The check and the insert are one statement."""
  message = _outbound(
    chat=chat,
    customer=customer,
    text=text,
    completion=completion,
    prompt_version=prompt_version,
    is_fallback=is_fallback,
    thread_id=thread_id,
    reply_to=reply_to,
  )
  values = [
    field.get_db_prep_save(field.pre_save(message, True), connection) for field in _ANSWER_FIELDS
  ]
  with connection.cursor() as cursor:
    cursor.execute(_answer_insert_sql(connection.vendor), [*values, reply_to.pk])
    row = cursor.fetchone()
  if row is None:
    return None
  message.pk = row[0]
  message._state.adding, message._state.db = False, connection.alias
  return message


_ANSWER_FIELDS = [field for field in Message._meta.local_concrete_fields if not field.primary_key]


@functools.cache
def _answer_insert_sql(vendor: str) -> str:
  """message_store_answer's statement (the same text for every answer on a database vendor)."""
  quote, table = connection.ops.quote_name, connection.ops.quote_name(Message._meta.db_table)
  return (
    f"INSERT INTO {table} ({', '.join(quote(field.column) for field in _ANSWER_FIELDS)})"
    f" SELECT {', '.join(['%s'] * len(_ANSWER_FIELDS))}"
    f" WHERE EXISTS (SELECT 1 FROM {table} WHERE {quote('id')} = %s) RETURNING {quote('id')}"
  )


def _outbound(
  *,
  chat: Chat,
  customer: Customer | None,
  text: str,
  completion: Completion | None,
  prompt_version: PromptVersion | None,
  is_fallback: bool,
  thread_id: int | None,
  reply_to: Message | None,
) -> Message:
  usage = {}
  if completion is not None:
    usage = {
      "model_name": completion.model_name[:200],
      "prompt_tokens": completion.prompt_tokens,
      "completion_tokens": completion.completion_tokens,
      "latency_ms": completion.latency_ms,
      "cost": completion.cost,
    }
  return Message(
    chat=chat,
    customer=customer,
    role=Message.Role.ASSISTANT,
    text=text,
    prompt_version=prompt_version,
    is_fallback=is_fallback,
    thread_id=thread_id,
    reply_to=reply_to,
    **usage,
  )


def message_set_external_id(*, message_id: int, external_message_id: int) -> bool:
  """Record the channel's id of a reply we sent; False if the message is gone or the id is taken."""
  try:
    with savepoint():
      updated = Message.objects.filter(pk=message_id, role=Message.Role.ASSISTANT).update(
        external_message_id=external_message_id
      )
  except IntegrityError:
    logger.debug("External id %s is already recorded in this chat", external_message_id)
    return False
  return bool(updated)


def message_set_external_ids(pairs: list[tuple[int, int]]) -> int:
  """`message_set_external_id` for many replies in one statement; returns how many were set.

  If one of the ids is already recorded in its chat, each pair is tried on its own instead.
  """
  if not pairs:
    return 0
  if len(pairs) == 1:
    return int(message_set_external_id(message_id=pairs[0][0], external_message_id=pairs[0][1]))
  ids = Case(*(When(pk=pk, then=Value(external)) for pk, external in pairs))
  try:
    with savepoint():
      return Message.objects.filter(
        pk__in=[pk for pk, _external in pairs], role=Message.Role.ASSISTANT
      ).update(external_message_id=ids)
  except IntegrityError:
    return sum(
      message_set_external_id(message_id=pk, external_message_id=external) for pk, external in pairs
    )


def message_text_set(*, message: Message, text: str) -> Message:
  """Replace a stored message's text (a pressed button is stored as its label, not its data)."""
  message.text = text
  message.save(update_fields=["text"])
  return message


def message_edit(*, chat: Chat, external_message_id: int, text: str) -> Message | None:
  """The customer edited a message: store the new text (the search index follows by trigger).

  None when that message is not stored (e.g. group talk kept only when addressed).
  """
  message = Message.objects.filter(
    chat=chat, external_message_id=external_message_id, role=Message.Role.USER
  ).first()
  if message is None:
    return None
  message.text = text
  message.edited_at = timezone.now()
  message.save(update_fields=["text", "edited_at"])
  return message


@transaction.atomic
def customer_forget_chat(*, customer: Customer, chat: Chat) -> dict[str, int]:
  """Erase what one person said in one group (and the answers to them); the rest stays."""
  deleted = Message.objects.filter(chat=chat, customer=customer).delete()[1]
  counts = {"messages": deleted.get("memory.Message", 0)}
  logger.info(
    "Customer #%s erased their %s messages in chat #%s", customer.pk, counts["messages"], chat.pk
  )
  return counts


@transaction.atomic
def customer_forget(*, customer: Customer) -> dict[str, int]:
  """Right to erasure: delete the customer's messages, feedback and leads, and clear contacts."""
  counts = {
    "feedback": Feedback.objects.filter(customer=customer).delete()[1].get("leads.Feedback", 0),
    "leads": Lead.objects.filter(customer=customer).delete()[1].get("leads.Lead", 0),
    # Feedback on the deleted messages goes with them (CASCADE), counted above when it was theirs.
    "messages": Message.objects.filter(customer=customer).delete()[1].get("memory.Message", 0),
  }
  customer.phone = ""
  customer.email = ""
  customer.display_name = ""
  customer.first_name = ""
  customer.last_name = ""
  customer.username = ""
  customer.consent = Customer.Consent.UNKNOWN
  customer.consent_at = None
  customer.state = {}
  customer.selected_model = None
  customer.save()
  logger.info(
    "Customer #%s erased: %s messages, %s leads, %s feedback",
    customer.pk,
    counts["messages"],
    counts["leads"],
    counts["feedback"],
  )
  return counts
