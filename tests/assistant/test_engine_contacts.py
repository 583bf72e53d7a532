"""Contacts: shared with the button, typed, corrected; leads created or updated."""

import logging

import pytest

from leads.models import Customer, Lead
from memory.models import Message
from tests.assistant.engine_helpers import (
  agree,
  customer,
  data_of,
  make_turn,
  press,
  run,
  say,
  share,
  transcript,
)
from tests.factories import lead_factory

pytestmark = pytest.mark.django_db(transaction=True)


def test_shared_own_contact_creates_a_new_lead(caplog):
  # given
  agree()

  # when
  with caplog.at_level(logging.INFO, logger="leads.services"):
    replies = share("79123456789")

  # then
  lead = Lead.objects.get()
  assert (lead.stage, lead.source, lead.phone, lead.name) == (
    "new",
    "telegram",
    "+79123456789",
    "Anna",
  )
  assert customer().phone == "+79123456789"
  assert len(replies) == 1
  assert replies[0].remove_keyboard is True
  assert "+79123456789" in replies[0].text
  assert (
    f"New lead #{lead.pk} for customer #{customer().pk} (source telegram, phone +7912*****89, e-mail -)"
    in caplog.messages
  )
  assert not any("+79123456789" in message for message in caplog.messages)
  inbound = Message.objects.get(role=Message.Role.USER, kind="contact")
  assert inbound.text == "+79123456789"


def test_shared_contact_of_someone_else_is_refused():
  # given
  agree()

  # when
  replies = share("+79123456789", owner="999")

  # then
  assert "own contact" in replies[0].text
  assert Lead.objects.count() == 0
  assert customer().phone == ""


def test_shared_contact_without_user_id_is_refused():
  agree()

  replies = share("+79123456789", owner="")

  assert "own contact" in replies[0].text
  assert Lead.objects.count() == 0


def test_shared_contact_before_consent_asks_consent_then_the_contact_again():
  # when
  first = share("+79123456789")
  after_consent = press("consent:yes")

  # then
  assert data_of(first[1]) == ["consent:yes", "consent:no"]
  assert first[0].remove_keyboard is True
  assert Lead.objects.count() == 0
  assert Message.objects.get(kind="contact").text == ""  # not even in the transcript
  assert len(after_consent) == 1
  assert after_consent[0].request_contact == "📱 Share my phone"
  assert customer().state["pending"] == {"kind": "contact"}


def test_shared_contact_with_a_bad_number_asks_to_type_it():
  agree()

  replies = share("12")

  assert "“12” doesn't look right" in replies[0].text
  assert customer().state["pending"] == {"kind": "contact"}


def test_typed_name_and_phone_are_recognised_without_asking_the_llm(fake_llm, llm_model):
  # given
  agree(language="ru")

  # when
  replies = say("меня зовут Анна, +7 912 345-67-89", language="ru")

  # then
  lead = Lead.objects.get()
  assert (lead.name, lead.phone) == ("Анна", "+79123456789")
  assert customer().display_name == "Анна"
  assert len(replies) == 1
  assert fake_llm.chat_requests == []


def test_typed_email_in_english():
  agree()

  say("my name is John, john@Example.com")

  lead = Lead.objects.get()
  assert (lead.name, lead.email, lead.phone) == ("John", "john@example.com", "")


def test_typed_name_alone_is_remembered():
  agree()

  replies = say("my name is John")

  assert replies[0].text == "Nice to meet you, John!"
  assert customer().display_name == "John"


def test_invalid_phone_gets_a_correction_and_the_next_message_is_read_as_a_phone():
  # given
  agree()

  # when
  correction = say("my phone is +7 912 345")
  fixed = say("+7 912 345-67-89")

  # then
  assert "“+7 912 345” doesn't look right" in correction[0].text
  assert "+7 912 345-67-89" in correction[0].text  # the example format
  assert Lead.objects.get().phone == "+79123456789"
  assert "pending" not in customer().state
  assert "+79123456789" in fixed[0].text


def test_correction_with_a_short_number_when_a_phone_is_expected():
  agree()
  say("my phone is +7 912 345")

  replies = say("12345")

  assert "“12345” doesn't look right" in replies[0].text


def test_invalid_email_and_name_get_corrections():
  agree()

  replies = say("my name is 42 and my mail is anna@example")

  assert "“anna@example” doesn't look right" in replies[0].text
  assert "“42”" in replies[0].text
  assert Lead.objects.count() == 0


def test_valid_phone_and_invalid_email_saves_one_and_corrects_the_other():
  agree()

  replies = say("+7 912 345-67-89, anna@example")

  assert Lead.objects.get().phone == "+79123456789"
  assert len(replies) == 2
  assert "anna@example" in replies[1].text


def test_pending_contact_then_an_unrelated_question_goes_to_the_llm(fake_llm, llm_model):
  # given
  agree()
  say("my phone is +7 912 345")
  fake_llm.enqueue(text="We work 9 to 6.")

  # when
  replies = say("When are you open?")

  # then
  assert replies[0].text == "We work 9 to 6."
  assert "pending" not in customer().state


def test_typed_contact_with_a_question_saves_it_and_answers(fake_llm, llm_model):
  # given
  agree()
  fake_llm.enqueue(text="A website takes two weeks.")

  # when
  replies = say("+7 912 345-67-89 how long does a website take?")

  # then
  assert Lead.objects.get().phone == "+79123456789"
  assert [r.text for r in replies][1] == "A website takes two weeks."
  asked = fake_llm.chat_requests[0]["json"]["messages"][-1]
  assert asked == {"role": "user", "content": "+7 912 345-67-89 how long does a website take?"}


def test_typed_contact_without_consent_is_redacted_and_not_sent_to_the_llm(fake_llm, llm_model):
  # given
  fake_llm.enqueue(text="Two weeks.")

  # when
  replies = say("+7 912 345-67-89 how long does a website take?")

  # then
  assert Lead.objects.count() == 0
  assert data_of(replies[1]) == ["consent:yes", "consent:no"]
  assert replies[2].text == "Two weeks."
  inbound = Message.objects.get(role=Message.Role.USER)
  assert inbound.text == "[…] how long does a website take?"
  asked = fake_llm.chat_requests[0]["json"]["messages"][-1]["content"]
  assert asked == "[…] how long does a website take?"


def test_returning_customer_updates_the_open_lead(caplog):
  # given
  agree()
  share("+79123456789")

  # when
  with caplog.at_level(logging.INFO, logger="leads.services"):
    say("my e-mail is anna@example.com")

  # then
  lead = Lead.objects.get()
  assert (lead.phone, lead.email) == ("+79123456789", "anna@example.com")
  assert (
    f"Lead #{lead.pk} contacts updated (phone +7912*****89, e-mail a***@example.com)"
    in caplog.messages
  )


def test_closed_lead_is_not_reopened():
  # given
  person = agree()
  old = lead_factory(customer=person, stage=Lead.Stage.WON, phone="+79990000000")

  # when
  share("+79123456789")

  # then
  assert Lead.objects.count() == 2
  assert Lead.objects.exclude(pk=old.pk).get().stage == Lead.Stage.NEW


def test_typed_phone_numbers_in_a_price_question_are_not_contacts(fake_llm, llm_model):
  agree()

  replies = say("Is a site for 100 000 rub possible?")

  assert replies[0].text == "Fake answer."
  assert Lead.objects.count() == 0


def test_typed_contact_is_kept_in_the_transcript_with_consent():
  agree()

  say("+7 912 345-67-89")

  assert transcript()[-2] == ("user", "+7 912 345-67-89")


def test_interest_after_refused_consent_explains_how_to_leave_a_contact():
  from tests.factories import service_factory

  service_factory(slug="site", language="en", name="Website")
  press("consent:no")

  replies = press("int:site")

  assert replies[-1].text == "I can't save contacts without your consent. Send /start to give it."
  assert Lead.objects.get().service.slug == "site"


def test_customer_state_survives_between_turns():
  agree()
  run(make_turn("my phone is +7 912 345"))

  assert Customer.objects.get().state == {"pending": {"kind": "contact"}}


def test_contact_request_in_a_group_has_no_share_phone_button():
  from assistant.types import ChatRef
  from llm.prompts import prompt_text
  from tests.factories import service_factory

  group = ChatRef(external_id="-100", type="supergroup", title="Clients")
  service_factory(slug="site", language="en", name="Website")
  agree(chat=group)

  replies = press("int:site", chat=group)

  assert replies[-1].request_contact == ""
  assert replies[-1].text != prompt_text(key="ask_contact", language="en")
  assert (
    "private chat" in replies[-1].text
  )  # contacts are left privately (tests/assistant/test_engine_groups.py)
  assert "pending" not in customer().state
