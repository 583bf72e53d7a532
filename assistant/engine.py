"""The channel-agnostic conversation engine: Telegram, the console and future channels call it.

    replies = await handle_turn(turn, stream=edit_message)   # send them in order
    await reply_sent(message_id=reply.message_id, external_message_id=sent.message_id)

A turn runs in at most two ORM calls on worker threads (`run_db`) around the LLM call, which
holds no database connection:
  1. `turn_begin`: chat upserted (in groups: the admins' switch, allow-list and off state are
     checked before anything about the person is stored), customer upserted, the inbound
     message stored FIRST (a duplicate update returns no replies), flood check, routing
     (commands, buttons, contacts, scenarios, awaited input); everything but the LLM answer is
     decided and stored here.
  2. `llm.client.complete` (streams through `stream` when given), only for free questions.
  3. `answer_finish`: the answer (or the FAQ/operator fallback) stored with model, tokens,
     latency, cost and prompt version, then returned with 👍/👎 buttons.

docs/conversation.md lists the callback data formats, the Reply semantics adapters honour and
the deliberate choices for bad input (e.g. over-long texts are stored, not truncated).
"""

import asyncio
import logging
import weakref

from django.utils import translation
from django.utils.translation import gettext as _

from assistant.batching import GroupWriter
from assistant.conversation.answer import answer_finish
from assistant.conversation.context import AnswerRequest, Outcome, TurnContext
from assistant.conversation.edits import edit_apply
from assistant.conversation.groups import group_gate, group_route, group_welcome
from assistant.conversation.inputs import flood_check, text_clean
from assistant.conversation.router import route
from assistant.db import run_db
from assistant.types import ChatRef, Reply, StreamCallback, Turn, TurnKind
from leads.contacts import contacts_mask
from leads.services import customer_upsert, language_from_code
from llm.client import Completion, LLMError, complete
from memory.models import Chat
from memory.services import chat_upsert, message_set_external_ids, message_store_inbound

logger = logging.getLogger(__name__)

MAX_CALLBACK_CHARS = 64  # Telegram's limit; anything longer is not ours
# One reply-id writer per event loop (the bot has one; tests run many short-lived loops).
_reply_ids: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupWriter] = (
  weakref.WeakKeyDictionary()
)


async def handle_turn(turn: Turn, *, stream: StreamCallback | None = None) -> list[Reply]:
  """Handle one inbound event and return the replies to send, in order ([] = send nothing)."""
  try:
    outcome = await run_db(turn_begin, turn)
  except Exception:
    logger.exception("Turn from %s user %s failed", turn.channel, turn.sender.external_id)
    return [_sorry(turn)]
  if outcome.answer is None:
    return outcome.replies
  completion, streamed = await _complete(outcome.answer, stream)
  try:
    replies = await run_db(answer_finish, outcome.answer, completion)
  except Exception:
    logger.exception("Storing the answer for customer #%s failed", outcome.answer.customer.pk)
    return [*outcome.replies, _sorry(turn)]
  if streamed and replies and completion is not None:
    replies[0].streamed = True
  return [*outcome.replies, *replies]


async def reply_sent(*, message_id: int, external_message_id: int) -> None:
  """Record the channel's id of a reply we sent (replies to it can then be matched).

  Ids of replies sent at about the same time are written together (assistant/batching.py).
  """
  loop = asyncio.get_running_loop()
  writer = _reply_ids.get(loop)
  if writer is None:
    writer = _reply_ids[loop] = GroupWriter(_reply_ids_write)
  await writer.add((message_id, external_message_id))


async def _reply_ids_write(pairs: list[tuple[int, int]]) -> None:
  await run_db(message_set_external_ids, pairs)


async def handle_edit(turn: Turn) -> bool:
  """A message was edited: its stored text follows (no new answer). False if it isn't stored."""
  try:
    return await run_db(edit_apply, turn)
  except Exception:
    logger.exception(
      "Storing an edit from %s user %s failed", turn.channel, turn.sender.external_id
    )
    return False


async def group_joined(*, channel: str, chat: ChatRef, language_code: str = "") -> list[Reply]:
  """The bot was added to a group (its membership already recorded): the replies to send there."""
  return await run_db(group_welcome, channel=channel, chat=chat, language_code=language_code)


def turn_begin(turn: Turn) -> Outcome:
  """Sync part 1: store the inbound message, then decide everything that needs no LLM."""
  chat = chat_upsert(
    channel=turn.channel,
    external_id=turn.chat.external_id,
    type=turn.chat.type,
    title=turn.chat.title,
    is_forum=turn.chat.is_forum,
  )
  in_group = chat.type != Chat.Type.PRIVATE
  if in_group:
    gate = group_gate(turn, chat)  # before anything about the person is stored
    if gate is not None:
      return gate
  sender = turn.sender
  customer, _created = customer_upsert(
    channel=turn.channel,
    external_id=sender.external_id,
    username=sender.username,
    first_name=sender.first_name,
    last_name=sender.last_name,
    language_code=sender.language_code,
  )
  if not turn.addressed and chat.store_mode == Chat.StoreMode.ADDRESSED:
    return Outcome()
  text = text_clean(turn.text) if turn.kind == TurnKind.TEXT else ""
  stored_text, hidden = _inbound_text(turn, text), False
  if in_group and turn.kind != TurnKind.BUTTON:
    # Contacts are never kept from a group, and so never reach anyone's LLM context.
    stored_text, hidden = contacts_mask(stored_text)
    text = stored_text if turn.kind == TurnKind.TEXT else text
  inbound, created = message_store_inbound(
    chat=chat,
    customer=customer,
    text=stored_text,
    kind=_inbound_kind(turn),
    # A button press arrives on our own message: its id is not the customer's message id.
    external_message_id=None if turn.kind == TurnKind.BUTTON else turn.external_message_id,
    update_id=turn.update_id,
    thread_id=turn.chat.thread_id,
    addressed=turn.addressed,
  )
  if not created:
    logger.debug("Duplicate update %s from customer #%s ignored", turn.update_id, customer.pk)
    return Outcome()
  if not turn.addressed:
    return Outcome()  # group talk not meant for the bot: stored, not answered
  ctx = TurnContext(
    turn=turn, customer=customer, chat=chat, inbound=inbound, text=text, contacts_hidden=hidden
  )
  with translation.override(customer.language):
    notice = flood_check(ctx)
    if notice is not None:
      outcome = Outcome(notice)
    else:
      outcome = group_route(ctx) if in_group else route(ctx)
    ctx.finish(outcome.replies)
  return outcome


def _inbound_text(turn: Turn, text: str) -> str:
  if turn.kind == TurnKind.BUTTON:
    return turn.callback_data[:MAX_CALLBACK_CHARS]
  if turn.kind == TurnKind.UNSUPPORTED:
    return text_clean(turn.text)  # a photo's caption, if any
  return text  # a contact's number is added only once consent allows (see contacts.py)


def _inbound_kind(turn: Turn) -> str:
  if turn.kind == TurnKind.UNSUPPORTED:
    return turn.media_type or "unsupported"
  return str(turn.kind)


async def _complete(
  request: AnswerRequest, stream: StreamCallback | None
) -> tuple[Completion | None, bool]:
  """The model's answer (None when no model answers) and whether it was streamed."""
  if request.budget_exceeded:
    return None, False
  streamed = False

  async def relay(text: str) -> None:
    nonlocal streamed
    streamed = True
    await stream(text)

  try:
    completion = await complete(
      messages=request.messages,
      model_name=request.model_name,
      stream=relay if stream is not None else None,
    )
  except LLMError as error:
    logger.warning("No LLM answer for customer #%s: %s", request.customer.pk, error)
    return None, False
  return completion, streamed


def _sorry(turn: Turn) -> Reply:
  with translation.override(language_from_code(turn.sender.language_code)):
    return Reply(text=_("Sorry, something went wrong on our side. Please try again in a minute."))
