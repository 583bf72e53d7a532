import logging
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Customer, Feedback, Lead
from llm.client import Completion
from memory.models import Chat, Message
from memory.search import message_search
from memory.services import (
  chat_upsert,
  customer_forget,
  message_set_external_id,
  message_set_external_ids,
  message_store_answer,
  message_store_inbound,
  message_store_outbound,
  message_text_set,
)
from tests.factories import chat_factory, customer_factory, lead_factory, message_factory

pytestmark = pytest.mark.django_db


def store(chat: Chat, customer: Customer, **fields) -> tuple[Message, bool]:
  fields.setdefault("text", "hi")
  fields.setdefault("external_message_id", None)
  fields.setdefault("update_id", None)
  return message_store_inbound(chat=chat, customer=customer, **fields)


def test_chat_upsert_creates_and_refreshes():
  created = chat_upsert(channel="telegram", external_id="-1", type="supergroup", title="A")
  renamed = chat_upsert(
    channel="telegram", external_id="-1", type="supergroup", title="B", is_forum=True
  )
  untitled = chat_upsert(channel="telegram", external_id="-1", is_forum=True)

  assert created.pk == renamed.pk == untitled.pk
  stored = Chat.objects.get()
  assert (stored.type, stored.title, stored.is_forum) == ("supergroup", "B", True)


def test_chat_upsert_unknown_type_is_private():
  assert chat_upsert(channel="console", external_id="x", type="weird").type == "private"


def test_chat_upsert_survives_a_parallel_create(monkeypatch):
  existing = chat_factory(channel="telegram", external_id="-5")
  real_filter = Chat.objects.filter
  calls = {"n": 0}

  def filter_missing_once(*args, **kwargs):
    calls["n"] += 1
    return real_filter(pk=-1) if calls["n"] == 1 else real_filter(*args, **kwargs)

  monkeypatch.setattr(Chat.objects, "filter", filter_missing_once)

  assert chat_upsert(channel="telegram", external_id="-5").pk == existing.pk


def test_inbound_is_stored_once_per_update_and_per_message():
  # given
  chat, customer = chat_factory(), customer_factory()

  # when
  first, created = store(chat, customer, update_id=1, external_message_id=10, thread_id=3)
  by_update, created_again = store(chat, customer, update_id=1, external_message_id=11)
  by_message, created_third = store(chat, customer, update_id=2, external_message_id=10)

  # then
  assert (created, created_again, created_third) == (True, False, False)
  assert by_update.pk == by_message.pk == first.pk
  assert (first.role, first.thread_id, first.addressed) == ("user", 3, True)
  assert Message.objects.count() == 1


def test_inbound_without_ids_is_always_stored():
  chat, customer = chat_factory(), customer_factory()

  store(chat, customer)
  store(chat, customer)

  assert Message.objects.count() == 2


def test_inbound_integrity_error_that_is_not_a_duplicate_is_raised(monkeypatch):
  from django.db import IntegrityError

  from memory import services

  chat, customer = chat_factory(), customer_factory()
  monkeypatch.setattr(services, "_inbound_duplicate", lambda **kwargs: None)
  store(chat, customer, update_id=6)

  with pytest.raises(IntegrityError):
    store(chat, customer, update_id=6)


def test_outbound_with_usage():
  chat, customer = chat_factory(), customer_factory()
  completion = Completion(
    text="Hi",
    model_name="fake/x",
    prompt_tokens=3,
    completion_tokens=2,
    latency_ms=40,
    cost=Decimal("0.5"),
  )

  message = message_store_outbound(chat=chat, customer=customer, text="Hi", completion=completion)

  stored = Message.objects.get(pk=message.pk)
  assert (stored.role, stored.model_name, stored.prompt_tokens, stored.completion_tokens) == (
    "assistant",
    "fake/x",
    3,
    2,
  )
  assert (stored.latency_ms, stored.cost, stored.is_fallback) == (40, Decimal("0.5"), False)


def test_outbound_fallback_without_usage():
  message = message_store_outbound(
    chat=chat_factory(), customer=None, text="A manager will reply", is_fallback=True
  )

  assert (message.is_fallback, message.model_name, message.prompt_tokens) == (True, "", None)


def test_set_external_id_and_conflicts():
  # given
  chat = chat_factory()
  first = message_store_outbound(chat=chat, customer=None, text="a")
  second = message_store_outbound(chat=chat, customer=None, text="b")
  inbound = message_factory(chat=chat)

  # then
  assert message_set_external_id(message_id=first.pk, external_message_id=100) is True
  assert message_set_external_id(message_id=second.pk, external_message_id=100) is False
  assert message_set_external_id(message_id=inbound.pk, external_message_id=101) is False
  assert message_set_external_id(message_id=999999, external_message_id=102) is False
  assert Message.objects.get(pk=first.pk).external_message_id == 100


def test_message_text_set():
  message = message_factory(text="consent:yes")

  message_text_set(message=message, text="I agree")

  assert Message.objects.get().text == "I agree"


def test_customer_forget_erases_everything_personal(caplog):
  # given
  customer = customer_factory(
    phone="+79123456789",
    email="a@example.com",
    display_name="Anna",
    username="anna",
    consent=Customer.Consent.GIVEN,
    state={"pending": {"kind": "contact"}},
    language="en",
  )
  other = customer_factory()
  chat = chat_factory()
  answer = message_factory(chat=chat, customer=customer, role=Message.Role.ASSISTANT)
  message_factory(chat=chat, customer=customer)
  message_factory(chat=chat, customer=other)
  Feedback.objects.create(customer=customer, message=answer, rating=1)
  Feedback.objects.create(customer=customer, comment="free")
  lead_factory(customer=customer)
  lead_factory(customer=other)

  # when
  with caplog.at_level(logging.INFO, logger="memory.services"):
    counts = customer_forget(customer=customer)

  # then
  assert counts == {"feedback": 2, "leads": 1, "messages": 2}
  stored = Customer.objects.get(pk=customer.pk)
  assert (stored.phone, stored.email, stored.display_name, stored.username) == ("", "", "", "")
  assert (stored.consent, stored.consent_at, stored.state) == ("unknown", None, {})
  assert stored.language == "en"
  assert Message.objects.get().customer == other
  assert Lead.objects.get().customer == other
  assert caplog.messages == [f"Customer #{customer.pk} erased: 2 messages, 1 leads, 2 feedback"]


def test_integrity_error_of_a_message_without_ids_is_raised(monkeypatch):
  from django.db import IntegrityError

  chat, customer = chat_factory(), customer_factory()
  message_factory(chat=chat, customer=customer)  # would be "found" by a careless look-up

  def broken_create(**fields):
    raise IntegrityError("some other constraint")

  monkeypatch.setattr(Message.objects, "create", broken_create)

  with pytest.raises(IntegrityError):
    store(chat, customer)


def _fields(message: Message) -> dict:
  skip = {"id", "created_at"}
  return {
    f.attname: getattr(message, f.attname)
    for f in Message._meta.concrete_fields
    if f.attname not in skip
  }


def test_an_answer_is_stored_like_any_outbound_message(settings):
  # given
  settings.LONG_TERM_MEMORY_ENABLED = True
  chat, customer = chat_factory(), customer_factory()
  question = message_factory(chat=chat, customer=customer, text="Доставка есть?")
  completion = Completion(
    text="Да",
    model_name="fake/x",
    prompt_tokens=3,
    completion_tokens=2,
    latency_ms=40,
    cost=Decimal("0.0012"),
  )
  fields = {"chat": chat, "customer": customer, "text": "Да, доставка курьером", "thread_id": 7}

  # when
  answer = message_store_answer(reply_to=question, completion=completion, **fields)
  plain = message_store_outbound(reply_to=question, completion=completion, **fields)

  # then: the same row as the ORM's insert, found by the long-term search like any message
  stored = Message.objects.get(pk=answer.pk)
  assert _fields(stored) == _fields(Message.objects.get(pk=plain.pk))
  assert (stored.reply_to_id, stored.cost, stored.thread_id) == (question.pk, Decimal("0.0012"), 7)
  assert stored.created_at == answer.created_at and answer._state.adding is False
  found = message_search(customer=customer, chat=chat, query="доставкой", limit=5)
  assert answer.pk in {message.pk for message in found}


def test_an_answer_to_an_erased_question_is_not_stored():
  # given: the question was erased (/forget) while the model was answering
  chat, customer = chat_factory(), customer_factory()
  question = message_factory(chat=chat, customer=customer, text="hi")
  Message.objects.filter(pk=question.pk).delete()

  # when
  answer = message_store_answer(reply_to=question, chat=chat, customer=customer, text="Hello")

  # then
  assert answer is None
  assert Message.objects.count() == 0


def test_set_external_ids_sets_many_in_one_statement():
  # given: two answers in one chat, one in another, and a customer's message
  chat, other = chat_factory(), chat_factory()
  first = message_store_outbound(chat=chat, customer=None, text="a")
  second = message_store_outbound(chat=chat, customer=None, text="b")
  third = message_store_outbound(chat=other, customer=None, text="c")
  inbound = message_factory(chat=chat)

  # when
  with CaptureQueriesContext(connection) as queries:
    updated = message_set_external_ids(
      [(first.pk, 10), (second.pk, 11), (third.pk, 10), (inbound.pk, 12), (999999, 13)]
    )

  # then: only the assistant messages that exist
  assert updated == 3
  stored = dict(Message.objects.values_list("pk", "external_message_id"))
  assert (stored[first.pk], stored[second.pk], stored[third.pk]) == (10, 11, 10)
  assert stored[inbound.pk] is None
  assert len([q for q in queries if q["sql"].startswith("UPDATE")]) == 1
  assert message_set_external_ids([]) == 0


def test_set_external_ids_falls_back_to_one_by_one_on_a_taken_id():
  # given: id 10 is taken in the chat already
  chat = chat_factory()
  taken = message_store_outbound(chat=chat, customer=None, text="a")
  message_set_external_id(message_id=taken.pk, external_message_id=10)
  clash = message_store_outbound(chat=chat, customer=None, text="b")
  fine = message_store_outbound(chat=chat, customer=None, text="c")

  # when
  updated = message_set_external_ids([(clash.pk, 10), (fine.pk, 11)])

  # then: the other one is still recorded
  assert updated == 1
  assert Message.objects.get(pk=clash.pk).external_message_id is None
  assert Message.objects.get(pk=fine.pk).external_message_id == 11
  assert message_set_external_ids([(fine.pk, 12)]) == 1
