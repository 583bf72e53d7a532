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

  @property
  def language(self) -> str:
    return self.customer.language

  @property
  def state(self) -> dict[str, Any]:
    return self.customer.state

  def state_set(self, key: str, value: Any) -> None:
    self.customer.state = {**self.customer.state, key: value}
    self.state_changed = True

  def state_pop(self, *keys: str) -> bool:
    """Remove keys from the state; True if any was there."""
    present = [key for key in keys if key in self.customer.state]
    if present:
      self.customer.state = {k: v for k, v in self.customer.state.items() if k not in keys}
      self.state_changed = True
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
