"""Fixtures for memory tests: one customer in a private chat, and a helper that stores messages."""

from collections.abc import Callable

import pytest

from leads.models import Customer
from memory.models import Chat, Message
from tests.factories import chat_factory, customer_factory, message_factory


@pytest.fixture
def customer(db) -> Customer:
  return customer_factory(first_name="Anna")


@pytest.fixture
def chat(db) -> Chat:
  return chat_factory(type=Chat.Type.PRIVATE)


@pytest.fixture
def say(customer: Customer, chat: Chat) -> Callable[..., Message]:
  """Store a message in `chat` from (or, for replies, to) `customer`; fields override defaults."""

  def _say(text: str, role: str = Message.Role.USER, **fields) -> Message:
    fields.setdefault("chat", chat)
    fields.setdefault("customer", customer)
    return message_factory(role=role, text=text, **fields)

  return _say
