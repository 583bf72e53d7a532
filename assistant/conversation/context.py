"""What a turn's handlers share: the stored inbound message, the customer, their state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.types import Button, Reply, Turn
from leads.models import Customer
from leads.services import customer_state_save
from llm.models import PromptVersion
from memory.models import Chat, Message
from memory.services import message_store_outbound, message_text_set

# Telegram refuses callback data over 64 bytes; longer buttons are left out (and logged).
MAX_CALLBACK_BYTES = 64
# Customer.state key holding the dialogue state of each group ({chat pk: state}): a scenario,
# pending input or confirmation started in a group stays in that group (and out of private).
GROUP_STATES = "groups"


@dataclass
class TurnContext:
  """One turn being handled: who, where, what (cleaned text) and the inbound Message row."""

  turn: Turn
  customer: Customer
  chat: Chat
  inbound: Message
  text: str = ""
  label: str = ""  # what a pressed button said: stored as the inbound message's text
  state_changed: bool = False
  forgotten: bool = False  # the customer's data was just erased: store nothing more
  contacts_hidden: bool = False  # a phone or e-mail typed in a group was masked before storing

  @property
  def language(self) -> str:
    return self.customer.language

  @property
  def in_group(self) -> bool:
    return self.chat.type != Chat.Type.PRIVATE

  @property
  def state(self) -> dict[str, Any]:
    """The dialogue state of this chat: the customer's own in private, per group in groups.

    In a group, leads started there (interest, scenario answers) name the group as their source.
    """
    if not self.in_group:
      return self.customer.state
    groups = self.customer.state.get(GROUP_STATES)
    scoped = groups.get(str(self.chat.pk)) if isinstance(groups, dict) else None
    return {"source": group_source(self.chat), **(scoped if isinstance(scoped, dict) else {})}

  def _state_replace(self, state: dict[str, Any]) -> None:
    if self.in_group:
      groups = self.customer.state.get(GROUP_STATES)
      groups = dict(groups) if isinstance(groups, dict) else {}
      groups[str(self.chat.pk)] = state
      groups = {k: v for k, v in groups.items() if v}
      state = {k: v for k, v in self.customer.state.items() if k != GROUP_STATES}
      if groups:
        state[GROUP_STATES] = groups
    self.customer.state = state
    self.state_changed = True

  def state_set(self, key: str, value: Any) -> None:
    self._state_replace({**self.state, key: value})

  def state_clear(self) -> None:
    """Forget this chat's dialogue state (in a group: that group's only)."""
    self._state_replace({})

  def state_pop(self, *keys: str) -> bool:
    """Remove keys from the state; True if any was there."""
    present = [key for key in keys if key in self.state]
    if present:
      self._state_replace({k: v for k, v in self.state.items() if k not in keys})
    return bool(present)

  @property
  def pending(self) -> dict[str, Any] | None:
    """The input we wait for (a 👎 comment, free feedback, a corrected contact), if any."""
    pending = self.state.get("pending")
    return pending if isinstance(pending, dict) else None

  def pending_set(self, kind: str, **data: Any) -> None:
    self.state_set("pending", {"kind": kind, **data})

  def finish(self, replies: list[Reply]) -> list[Reply]:
    """Store the replies (each gets its message_id), the button's label and the state."""
    if self.forgotten:
      return replies
    if self.label and self.label != self.inbound.text:
      message_text_set(message=self.inbound, text=self.label[:4000])
    for reply in replies:
      if reply.message_id is None:
        reply.message_id = message_store_outbound(
          chat=self.chat,
          customer=self.customer,
          text=reply.text,
          thread_id=self.turn.chat.thread_id,
          reply_to=self.inbound,
        ).pk
    if self.state_changed:
      customer_state_save(customer=self.customer, state=self.customer.state)
      self.state_changed = False
    return replies


def group_source(chat: Chat) -> str:
  """The lead source of someone who came from a group: "group: <title>" (Lead.source: 40)."""
  return f"group: {chat.title or chat.external_id}"[:40]


@dataclass
class AnswerRequest:
  """Everything the LLM step needs, prepared on an ORM thread; the call itself runs outside.

  The rows travel along (the next turn of a chat waits for this one), so finishing the answer
  doesn't load them again.
  """

  turn: Turn
  customer: Customer
  chat: Chat
  inbound: Message
  messages: list[dict[str, str]]
  model_name: str | None
  prompt_version: PromptVersion | None
  faq_answer: str = ""  # the best FAQ answer when it matches well enough: the fallback
  interest: bool = False  # the customer asked about prices, orders...: offer to leave a contact
  budget_exceeded: bool = False  # today's token budget is spent: don't call the LLM


@dataclass
class Outcome:
  """The replies of a turn, plus an LLM answer still to produce (if any)."""

  replies: list[Reply] = field(default_factory=list)
  answer: AnswerRequest | None = None


def button(text: str, data: str) -> Button | None:
  """An inline button, or None when its data would not fit the channel's limit."""
  if len(data.encode()) > MAX_CALLBACK_BYTES:
    return None
  return Button(text=text, data=data)


def rows(*buttons: Button | None) -> list[list[Button]]:
  """One button per row, skipping the ones that didn't fit."""
  return [[item] for item in buttons if item is not None]
