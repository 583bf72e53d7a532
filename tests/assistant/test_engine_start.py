"""Greeting, consent, language, help and the menu."""

import logging

import pytest

from leads.models import Customer, Lead
from llm.models import Prompt
from tests.assistant.engine_helpers import (
  USER,
  agree,
  customer,
  data_of,
  press,
  say,
  scenario_factory,
  share,
  tr,
)
from tests.factories import service_factory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def greetings(db):
  Prompt.objects.create(key="greeting", language="ru", text="Здравствуйте, {name}! Я ассистент.")
  Prompt.objects.create(key="greeting", language="en", text="Hello, {name}! I am the assistant.")
  Prompt.objects.create(key="consent", language="ru", text="Согласны на обработку данных?")
  Prompt.objects.create(key="consent", language="en", text="Do you agree to data processing?")


@pytest.mark.parametrize(
  ("language_code", "greeting", "consent"),
  [
    ("ru", "Здравствуйте, Anna! Я ассистент.", "Согласны на обработку данных?"),
    ("en", "Hello, Anna! I am the assistant.", "Do you agree to data processing?"),
    ("en-GB", "Hello, Anna! I am the assistant.", "Do you agree to data processing?"),
    ("de", "Здравствуйте, Anna! Я ассистент.", "Согласны на обработку данных?"),
    ("", "Здравствуйте, Anna! Я ассистент.", "Согласны на обработку данных?"),
  ],
)
def test_start_greets_in_the_customers_language_and_asks_consent(
  greetings, language_code, greeting, consent
):
  # when
  replies = say("/start", language=language_code)

  # then
  assert [reply.text for reply in replies] == [greeting, consent]
  assert replies[0].remove_keyboard is True
  assert data_of(replies[1]) == ["consent:yes", "consent:no"]
  assert customer().consent == Customer.Consent.UNKNOWN


def test_start_without_a_name_drops_the_dangling_comma(greetings):
  replies = say("/start", first_name="")

  assert replies[0].text == "Hello! I am the assistant."


def test_new_customer_is_logged_once(caplog):
  # when
  with caplog.at_level(logging.INFO, logger="leads.services"):
    say("/help")
    say("/help")

  # then
  created = [r for r in caplog.records if r.getMessage().startswith("New customer")]
  assert len(created) == 1
  assert created[0].getMessage() == f"New customer #{customer().pk} on telegram (language en)"


def test_consent_given_is_stored_with_its_time_and_shows_the_menu(caplog):
  # given
  service_factory(slug="site", language="en", name="Website")
  scenario_factory(key="budget", title="Estimate the budget")
  say("/start")

  # when
  with caplog.at_level(logging.INFO, logger="leads.services"):
    replies = press("consent:yes")

  # then
  person = customer()
  assert person.consent == Customer.Consent.GIVEN
  assert person.consent_at is not None
  assert len(replies) == 1
  assert data_of(replies[0]) == ["svc:", "scn:budget"]
  assert f"Customer #{person.pk} consent to personal data processing: given" in caplog.messages


def test_consent_refused_still_answers_but_stores_no_contact(fake_llm, llm_model):
  # given
  say("/start")
  press("consent:no")
  fake_llm.enqueue(text="We build websites.")

  # when
  question = say("What do you do?")
  contact = say("my name is John, +7 912 345-67-89")
  shared = share("+79123456789")

  # then
  assert customer().consent == Customer.Consent.REFUSED
  assert question[0].text == "We build websites."
  assert data_of(contact[1]) == ["consent:yes", "consent:no"]
  assert data_of(shared[1]) == ["consent:yes", "consent:no"]
  assert Lead.objects.count() == 0
  assert customer().phone == ""


def test_start_with_consent_given_greets_with_the_menu(greetings):
  # given
  agree()

  # when
  replies = say("/start")

  # then
  assert len(replies) == 1
  assert replies[0].text == "Hello, Anna! I am the assistant."
  assert data_of(replies[0]) == ["svc:"]


def test_start_payload_becomes_the_source_of_the_next_lead():
  # given
  say("/start contact_-100123")
  agree()

  # when
  say("+7 912 345-67-89")

  # then
  assert customer().state["start_payload"] == "contact_-100123"
  assert Lead.objects.get().source == "contact_-100123"


def test_start_payload_that_is_not_a_deep_link_is_ignored():
  say("/start <script>")
  agree()
  say("+7 912 345-67-89")

  assert "start_payload" not in customer().state
  assert Lead.objects.get().source == "telegram"


def test_start_with_the_bot_username_is_a_command(greetings):
  replies = say("/start@ConsultBot")

  assert replies[0].text == "Hello, Anna! I am the assistant."


def test_language_command_offers_both_languages():
  replies = say("/language")

  assert data_of(replies[0]) == ["lang:ru", "lang:en"]
  assert [b.text for row in replies[0].buttons for b in row] == ["Русский", "English"]


def test_language_switch_is_remembered(greetings, caplog):
  # given
  say("/start", language="ru")

  # when
  with caplog.at_level(logging.INFO, logger="leads.services"):
    replies = press("lang:en", language="ru")
  again = say("/start", language="ru")

  # then
  assert customer().language == "en"
  assert replies[0].text == "Done: I'll speak English with you now."
  assert again[0].text == "Hello, Anna! I am the assistant."
  assert f"Customer #{customer().pk} switched language to en" in caplog.messages


def test_language_command_with_a_code_switches_at_once():
  replies = say("/language ru")

  assert customer().language == "ru"
  assert replies[0].text == tr("ru", "Done: I'll speak %(language)s with you now.") % {
    "language": "Русский"
  }


def test_help_comes_from_content():
  Prompt.objects.create(key="help", language="en", text="Ask me anything. /services lists all.")

  replies = say("/help")

  assert [reply.text for reply in replies] == ["Ask me anything. /services lists all."]


def test_unknown_command_points_to_help():
  replies = say("/frobnicate now")

  assert replies[0].text == "I don't know this command. /help lists what I can do."


def test_every_reply_is_stored_as_an_assistant_message():
  # when
  replies = say("/start")

  # then
  from memory.models import Message

  stored = Message.objects.filter(role=Message.Role.ASSISTANT).order_by("id")
  assert [m.pk for m in stored] == [reply.message_id for reply in replies]
  assert [m.text for m in stored] == [reply.text for reply in replies]
  assert all(m.customer.external_id == USER for m in stored)
  inbound = Message.objects.get(role=Message.Role.USER)
  assert all(m.reply_to_id == inbound.pk for m in stored)


def test_built_in_texts_are_russian_for_russian_customers():
  replies = say("/cancel", language="ru")

  assert replies[0].text == "Отменять нечего. Чем могу помочь?"
