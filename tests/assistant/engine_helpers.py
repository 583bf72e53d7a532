"""Helpers for engine tests: build Turns, run them through `handle_turn`, read the replies.

Engine tests are sync functions marked `django_db(transaction=True)`: each turn runs in its own
event loop (`asyncio.run`), the ORM work on `run_db` threads, and the test reads the database
directly in between.
"""

import asyncio
import itertools

from django.utils import translation
from django.utils.translation import gettext

from assistant.engine import handle_turn
from assistant.types import ChatRef, Reply, Sender, StreamCallback, Turn, TurnKind
from leads.models import Customer, Scenario
from memory.models import Message

USER = "501"
_update_ids = itertools.count(10_000)


def make_turn(
  text: str = "",
  *,
  user: str = USER,
  language: str = "en",
  kind: TurnKind = TurnKind.TEXT,
  chat: ChatRef | None = None,
  update_id: int | None = None,
  first_name: str = "Anna",
  **fields,
) -> Turn:
  """A private-chat Turn from `user`; each gets a fresh update_id unless one is given."""
  return Turn(
    channel="telegram",
    sender=Sender(external_id=user, first_name=first_name, language_code=language),
    chat=chat or ChatRef(external_id=user),
    kind=kind,
    text=text,
    update_id=next(_update_ids) if update_id is None else update_id,
    **fields,
  )


def run(turn: Turn, *, stream: StreamCallback | None = None) -> list[Reply]:
  return asyncio.run(handle_turn(turn, stream=stream))


def say(text: str, **fields) -> list[Reply]:
  return run(make_turn(text, **fields))


def press(data: str, **fields) -> list[Reply]:
  return run(make_turn(kind=TurnKind.BUTTON, callback_data=data, **fields))


def share(phone: str, *, owner: str = USER, **fields) -> list[Reply]:
  return run(make_turn(kind=TurnKind.CONTACT, contact_phone=phone, contact_user_id=owner, **fields))


def customer(user: str = USER) -> Customer:
  return Customer.objects.get(channel="telegram", external_id=user)


def agree(**fields) -> Customer:
  """The customer gives consent through the button (created on the way)."""
  press("consent:yes", **fields)
  return customer(fields.get("user", USER))


def data_of(reply: Reply) -> list[str]:
  return [button.data for row in reply.buttons for button in row]


def labels_of(reply: Reply) -> list[str]:
  return [button.text for row in reply.buttons for button in row]


def tr(language: str, msgid: str) -> str:
  """The translation the engine would use (the msgid itself when no catalogue is compiled)."""
  with translation.override(language):
    return gettext(msgid)


def transcript(user: str = USER) -> list[tuple[str, str]]:
  """(role, text) of the user's messages, oldest first."""
  rows = Message.objects.filter(customer__external_id=user).order_by("created_at", "id")
  return [(row.role, row.text) for row in rows]


def scenario_factory(**fields) -> Scenario:
  fields.setdefault("key", "budget")
  fields.setdefault("language", "en")
  fields.setdefault("title", "Estimate the budget")
  fields.setdefault(
    "steps",
    [
      {"key": "goal", "question": "What do you need?", "options": ["A website", "An app"]},
      {"key": "budget", "question": "Your budget?", "options": ["< 100k", "100k+"]},
      {"key": "deadline", "question": "When do you need it?"},
    ],
  )
  return Scenario.objects.create(**fields)
