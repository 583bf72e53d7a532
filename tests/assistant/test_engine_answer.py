"""Free questions: what the LLM is asked, what is stored, fallbacks, streaming, contact offers."""

import asyncio
import logging
from decimal import Decimal

import pytest

from assistant.engine import handle_turn
from assistant.types import TurnKind
from leads.models import Customer
from llm.models import Prompt
from memory.models import Message
from tests.assistant.engine_helpers import (
  agree,
  customer,
  data_of,
  make_turn,
  run,
  say,
)
from tests.factories import faq_factory, llm_model_factory, service_factory

pytestmark = pytest.mark.django_db(transaction=True)

PRICE_FAQ = {
  "key": "price",
  "language": "en",
  "question": "How much does a website cost?",
  "answer": "A website costs from 45,000 rubles.",
  "keywords": "price cost website",
}


def test_llm_is_asked_with_faq_catalog_history_and_the_question_last(fake_llm, llm_model):
  # given
  faq_factory(**PRICE_FAQ)
  service_factory(slug="site", language="en", name="Website", description="Landing pages")
  Prompt.objects.create(key="system", language="en", text="You are Acme's consultant.")
  fake_llm.enqueue(text="Hi!")
  say("Hello")
  fake_llm.enqueue(text="From 45,000 rubles.")

  # when
  replies = say("How much does a website cost?")

  # then
  messages = fake_llm.chat_requests[1]["json"]["messages"]
  assert messages[0]["role"] == "system"
  assert messages[0]["content"].startswith("You are Acme's consultant.")
  assert "A website costs from 45,000 rubles." in messages[0]["content"]
  assert "Website" in messages[0]["content"]
  assert messages[1:] == [
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi!"},
    {"role": "user", "content": "How much does a website cost?"},
  ]
  assert fake_llm.chat_requests[1]["json"]["model"] == "fake-model"
  assert replies[0].text == "From 45,000 rubles."


def test_answer_is_stored_with_usage_and_prompt_version(fake_llm, settings):
  # given
  llm_model_factory(
    provider_model_name="fake/priced",
    base_url=fake_llm.base_url,
    is_default=True,
    price_prompt_per_1k=Decimal("1"),
    price_completion_per_1k=Decimal("2"),
  )
  Prompt.objects.create(key="system", language="en", text="Be nice.")
  fake_llm.enqueue(text="Sure.", prompt_tokens=1000, completion_tokens=500)

  # when
  replies = say("Can you help?")

  # then
  answer = Message.objects.get(role=Message.Role.ASSISTANT)
  assert replies[0].message_id == answer.pk
  assert data_of(replies[0]) == [f"fb:up:{answer.pk}", f"fb:down:{answer.pk}"]
  assert (answer.text, answer.model_name, answer.is_fallback) == ("Sure.", "fake/priced", False)
  assert (answer.prompt_tokens, answer.completion_tokens) == (1000, 500)
  assert answer.cost == Decimal("2")
  assert answer.latency_ms is not None
  assert answer.prompt_version.prompt.key == "system"
  assert answer.reply_to == Message.objects.get(role=Message.Role.USER)


def test_customers_chosen_model_answers(fake_llm, llm_model):
  # given
  chosen = llm_model_factory(
    provider_model_name="fake/chosen", model="chosen-model", base_url=fake_llm.base_url
  )
  say(f"/model {chosen.provider_model_name}")

  # when
  say("Hello")

  # then
  assert fake_llm.chat_requests[-1]["json"]["model"] == "chosen-model"
  assert Message.objects.filter(role="assistant").order_by("id").last().model_name == "fake/chosen"


def test_inbound_is_stored_before_the_llm_fails_and_faq_answers(fake_llm, llm_model):
  # given
  faq_factory(**PRICE_FAQ)
  fake_llm.enqueue(status=500)
  fake_llm.enqueue(status=500)

  # when
  replies = say("How much does a website cost?")

  # then
  assert (
    replies[0].text == "Here is what I found in our FAQ:\n\nA website costs from 45,000 rubles."
  )
  stored = Message.objects.order_by("id")
  assert [(m.role, m.is_fallback) for m in stored] == [
    ("user", False),
    ("assistant", True),
    ("assistant", False),  # the consent request: the customer asked about prices
  ]
  assert stored[0].text == "How much does a website cost?"
  assert data_of(replies[0]) == [f"fb:up:{stored[1].pk}", f"fb:down:{stored[1].pk}"]
  assert data_of(replies[1]) == ["consent:yes", "consent:no"]


def test_llm_timeout_without_a_good_faq_match_promises_a_manager(fake_llm, llm_model, settings):
  # given
  settings.LLM_TIMEOUT = 0.2
  settings.LLM_RETRIES = 0
  faq_factory(**PRICE_FAQ)
  agree()
  fake_llm.enqueue(delay=0.5)

  # when
  replies = say("Do you repair bicycles?")

  # then
  assert len(replies) == 1
  assert replies[0].request_contact == "📱 Share my phone"
  fallback = Message.objects.get(role=Message.Role.ASSISTANT, is_fallback=True)
  assert fallback.text == replies[0].text
  assert Message.objects.get(role=Message.Role.USER, kind="text").text == "Do you repair bicycles?"


def test_no_model_configured_without_consent_asks_consent_after_the_manager_note():
  replies = say("Do you repair bicycles?")

  assert len(replies) == 2
  assert data_of(replies[1]) == ["consent:yes", "consent:no"]
  assert Message.objects.get(role="assistant", is_fallback=True).text == replies[0].text
  assert Message.objects.filter(role="assistant").count() == 2


def test_no_model_and_contact_known_just_promises_a_manager():
  agree()
  say("+7 912 345-67-89")

  replies = say("Do you repair bicycles?")

  assert [r.text for r in replies] == [
    "I can't answer that right now. A manager will get back to you soon."
  ]


def test_no_model_and_consent_refused_promises_a_manager():
  from tests.assistant.engine_helpers import press

  press("consent:no")

  replies = say("Do you repair bicycles?")

  assert [r.text for r in replies] == [
    "I can't answer that right now. A manager will get back to you soon."
  ]


def test_faq_fallback_threshold_is_a_setting(settings):
  faq_factory(**PRICE_FAQ)
  settings.FAQ_FALLBACK_MIN_SCORE = 1.01

  replies = say("How much does a website cost?")

  assert "FAQ" not in replies[0].text


def test_token_budget_spent_means_no_llm_call(fake_llm, llm_model, settings):
  # given
  settings.DAILY_TOKEN_BUDGET = 10
  say("Hello")  # 10 + 5 tokens from the fake

  # when
  replies = say("And another thing")

  # then
  assert len(fake_llm.chat_requests) == 1
  assert replies[0].text.startswith("You've reached today's limit")
  assert Message.objects.filter(role="assistant").order_by("id").last().is_fallback is True


def test_token_budget_spent_still_answers_from_the_faq(fake_llm, llm_model, settings):
  settings.DAILY_TOKEN_BUDGET = 10
  faq_factory(**PRICE_FAQ)
  say("Hello")

  replies = say("How much does a website cost?")

  assert replies[0].text.endswith("A website costs from 45,000 rubles.")


def test_streaming_passes_the_text_and_marks_the_reply(fake_llm, llm_model):
  # given
  seen: list[str] = []

  async def stream(text: str) -> None:
    seen.append(text)

  fake_llm.enqueue(stream_chunks=["We ", "build ", "sites."])

  # when
  replies = run(make_turn("What do you do?"), stream=stream)

  # then
  assert seen == ["We ", "We build ", "We build sites."]
  assert replies[0].streamed is True
  assert replies[0].text == "We build sites."
  assert len(data_of(replies[0])) == 2


def test_stream_that_failed_before_the_fallback_is_not_marked(fake_llm, llm_model, settings):
  settings.LLM_RETRIES = 0
  fake_llm.enqueue(raw_body="data: {broken\n\n")

  async def stream(text: str) -> None:
    raise AssertionError("nothing valid was streamed")

  replies = run(make_turn("What do you do?"), stream=stream)

  assert replies[0].streamed is False


def test_interest_in_prices_offers_a_contact_once_a_day(fake_llm, llm_model):
  # given
  agree()

  # when
  first = say("What is the price of a website?")
  second = say("And what does an app cost?")

  # then
  assert first[1].request_contact == "📱 Share my phone"
  assert len(second) == 1
  assert "contact_asked_at" in customer().state


def test_interest_without_consent_asks_consent(fake_llm, llm_model):
  replies = say("How much does it cost?")

  assert data_of(replies[1]) == ["consent:yes", "consent:no"]
  assert customer().state["after_consent"] == "contact"


def test_after_consent_for_a_contact_the_share_button_comes(fake_llm, llm_model):
  say("How much does it cost?")

  replies = press_yes()

  assert replies[0].request_contact == "📱 Share my phone"


def press_yes():
  from tests.assistant.engine_helpers import press

  return press("consent:yes")


def test_long_term_background_reaches_the_system_prompt(fake_llm, llm_model, settings):
  # given
  settings.MAX_CONTEXT_MESSAGES = 2
  say("My dog Rex needs a website for his kennel")
  say("ok")
  say("thanks")

  # when
  say("Tell me about the kennel website again")

  # then
  system = fake_llm.chat_requests[-1]["json"]["messages"][0]["content"]
  assert "<background>" in system
  assert "Rex" in system


def test_ai_answer_to_a_customer_who_never_said_start(fake_llm, llm_model):
  fake_llm.enqueue(text="Hello there!")

  replies = say("hi")

  assert [r.text for r in replies] == ["Hello there!"]
  assert customer().consent == Customer.Consent.UNKNOWN


def test_unexpected_error_gets_a_polite_reply_and_is_logged(monkeypatch, caplog):
  # given
  from assistant import engine

  def broken(turn):
    raise RuntimeError("boom")

  monkeypatch.setattr(engine, "turn_begin", broken)

  # when
  with caplog.at_level(logging.ERROR, logger="assistant.engine"):
    replies = say("hi")

  # then
  assert replies[0].text == "Sorry, something went wrong on our side. Please try again in a minute."
  assert "boom" in caplog.text


def test_error_while_storing_the_answer_is_polite(fake_llm, llm_model, monkeypatch):
  from assistant import engine

  def broken(request, completion):
    raise RuntimeError("disk full")

  monkeypatch.setattr(engine, "answer_finish", broken)

  replies = say("hi")

  assert (
    replies[-1].text == "Sorry, something went wrong on our side. Please try again in a minute."
  )


def test_forget_during_the_llm_call_stores_nothing_more(fake_llm, llm_model):
  # given
  fake_llm.enqueue(text="Slow answer", delay=0.3)

  async def scenario():
    asking = asyncio.create_task(handle_turn(make_turn("hi")))
    await asyncio.sleep(0.1)
    await handle_turn(make_turn("/forget"))
    await handle_turn(make_turn(kind=TurnKind.BUTTON, callback_data="forget:yes"))
    return await asking

  # when
  replies = asyncio.run(scenario())

  # then
  assert replies[0].text == "Slow answer"
  assert replies[0].message_id is None
  assert Message.objects.count() == 0


def test_interest_with_a_known_contact_offers_nothing(fake_llm, llm_model):
  agree()
  say("+7 912 345-67-89")

  replies = say("What is the price of a website?")

  assert [r.text for r in replies] == ["Fake answer."]
