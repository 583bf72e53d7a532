"""👍/👎, comments, /feedback, /model and /forget."""

import logging

import pytest

from leads.models import Customer, Feedback, Lead
from llm.models import Prompt
from memory.models import Message
from tests.assistant.engine_helpers import (
  USER,
  agree,
  customer,
  data_of,
  labels_of,
  press,
  say,
  tr,
)
from tests.factories import llm_model_factory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def answer_id(fake_llm, llm_model):
  """An LLM answer (with a system prompt version) the customer can rate."""
  Prompt.objects.create(key="system", language="en", text="Be nice.")
  return say("What do you do?")[0].message_id


def test_thumbs_up_is_stored_against_the_message_and_prompt_version(answer_id):
  # when
  replies = press(f"fb:up:{answer_id}")

  # then
  feedback = Feedback.objects.get()
  message = Message.objects.get(pk=answer_id)
  assert (feedback.message, feedback.rating, feedback.comment) == (message, 1, "")
  assert feedback.prompt_version == message.prompt_version
  assert feedback.prompt_version is not None
  assert replies[0].text == "Thank you for the feedback!"


def test_thumbs_down_asks_for_a_comment_and_stores_it(answer_id):
  # when
  asked = press(f"fb:down:{answer_id}")
  thanks = say("Too vague")

  # then
  feedback = Feedback.objects.get()
  assert (feedback.rating, feedback.comment) == (-1, "Too vague")
  assert asked[0].text.startswith("Sorry the answer didn't help.")
  assert thanks[0].text == "Thank you! I've passed your comment to the team."
  assert "pending" not in customer().state


def test_thumbs_down_comment_can_be_skipped_with_cancel(fake_llm, answer_id):
  # given
  press(f"fb:down:{answer_id}")

  # when
  cancelled = say("/cancel")
  say("Another question")

  # then
  assert cancelled[0].text == "Cancelled. How else can I help?"
  assert Feedback.objects.get().comment == ""
  assert len(fake_llm.chat_requests) == 2


def test_changing_the_rating_keeps_one_feedback(answer_id, caplog):
  press(f"fb:down:{answer_id}")

  with caplog.at_level(logging.INFO, logger="leads.services"):
    press(f"fb:up:{answer_id}")

  assert Feedback.objects.get().rating == 1
  assert any(message.endswith("(changed)") for message in caplog.messages)


def test_comment_whose_rating_was_erased_is_kept_as_free_feedback(answer_id):
  press(f"fb:down:{answer_id}")
  Feedback.objects.all().delete()

  say("Too vague")

  feedback = Feedback.objects.get()
  assert (feedback.message, feedback.rating, feedback.comment) == (None, 0, "Too vague")


@pytest.mark.parametrize(
  "data",
  ["fb:up", "fb:sideways:1", "fb:up:abc", "fb:up:999999", "fb:", "nonsense", "", "x" * 300, "svc"],
)
def test_tampered_buttons_get_a_polite_reply(answer_id, data):
  replies = press(data)

  assert [r.text for r in replies] == [
    "This button is outdated. Send /start to see the menu again."
  ]
  assert Feedback.objects.count() == 0


def test_rating_someone_elses_answer_is_refused(answer_id):
  replies = press(f"fb:up:{answer_id}", user="777")

  assert replies[0].text == "This button is outdated. Send /start to see the menu again."
  assert Feedback.objects.count() == 0


def test_rating_a_non_llm_message_is_refused():
  greeting = say("/help")[0].message_id
  inbound = Message.objects.get(role="user").pk

  assert press(f"fb:up:{inbound}")[0].text.startswith("This button is outdated")
  assert press(f"fb:up:{greeting}")[0].text == "Thank you for the feedback!"


def test_free_feedback_in_two_steps():
  asked = say("/feedback")
  thanks = say("Great bot, add voice please")

  assert asked[0].text.startswith("Write your feedback in one message")
  assert thanks[0].text == "Thank you! I've passed your feedback to the team."
  feedback = Feedback.objects.get()
  assert (feedback.message, feedback.rating, feedback.comment) == (
    None,
    0,
    "Great bot, add voice please",
  )


def test_free_feedback_in_one_step():
  say("/feedback Love it")

  assert Feedback.objects.get().comment == "Love it"


def test_a_command_drops_the_awaited_feedback(fake_llm, llm_model):
  say("/feedback")
  say("/help")

  say("What do you do?")

  assert Feedback.objects.count() == 0


# --- /model --------------------------------------------------------------------------------------
def test_model_lists_selectable_models_marking_the_current_one(fake_llm, llm_model):
  other = llm_model_factory(
    provider_model_name="fake/other", base_url=fake_llm.base_url, fallback_order=5
  )
  llm_model_factory(provider_model_name="fake/hidden", customer_selectable=False)

  replies = say("/model")

  assert data_of(replies[0]) == [f"mdl:{llm_model.pk}", f"mdl:{other.pk}"]
  assert labels_of(replies[0]) == ["✓ fake/default", "fake/other"]


def test_model_button_switches_and_logs(fake_llm, llm_model, caplog):
  other = llm_model_factory(provider_model_name="fake/other", base_url=fake_llm.base_url)

  with caplog.at_level(logging.INFO):
    replies = press(f"mdl:{other.pk}")

  assert customer().selected_model == other
  assert replies[0].text == "Done: fake/other will answer your next messages."
  assert labels_of(say("/model")[0]) == ["fake/default", "✓ fake/other"]
  assert any("switched to model fake/other" in m for m in caplog.messages)


def test_model_by_name_and_unknown_name(fake_llm, llm_model):
  llm_model_factory(provider_model_name="fake/other", base_url=fake_llm.base_url)

  unknown = say("/model gpt-17")
  known = say("/model fake/other")

  assert (
    unknown[0].text == "There is no model “gpt-17” to choose. Available: fake/default, fake/other."
  )
  assert len(data_of(unknown[0])) == 2
  assert known[0].text == "Done: fake/other will answer your next messages."
  assert customer().selected_model.provider_model_name == "fake/other"


@pytest.mark.parametrize("data", ["mdl:abc", "mdl:999999"])
def test_model_button_for_a_missing_model(llm_model, data):
  assert press(data)[0].text.startswith("This button is outdated")


def test_model_without_any_models():
  assert say("/model")[0].text == "There are no models to choose from right now."
  assert say("/model x")[0].text == "There is no model “x” to choose. Available: —."


# --- /forget -------------------------------------------------------------------------------------
def test_forget_deletes_messages_contacts_leads_and_feedback_after_confirmation(answer_id, caplog):
  # given
  agree()
  say("my name is Anna, +7 912 345-67-89")
  press(f"fb:up:{answer_id}")
  other = say("hello", user="777")  # another customer's data stays

  # when
  asked = say("/forget")
  with caplog.at_level(logging.INFO, logger="memory.services"):
    done = press("forget:yes")

  # then
  assert data_of(asked[0]) == ["forget:yes", "forget:no"]
  assert done[0].text.startswith("Done: I've deleted your data (")
  assert done[0].remove_keyboard is True
  person = customer()
  assert (person.phone, person.email, person.display_name, person.first_name) == ("", "", "", "")
  assert person.consent == Customer.Consent.UNKNOWN
  assert person.state == {}
  assert Message.objects.filter(customer=person).count() == 0
  assert Lead.objects.count() == 0
  assert Feedback.objects.count() == 0
  assert Message.objects.filter(customer__external_id="777").count() == 2
  assert other
  assert any(m.startswith(f"Customer #{person.pk} erased:") for m in caplog.messages)


def test_forget_answers_in_the_customers_language():
  say("/language ru")
  say("/forget")

  done = press("forget:yes")

  expected = tr(
    "ru",
    "Done: I've deleted your data (messages: %(messages)s, requests: %(leads)s, feedback: %(feedback)s). If you write again, I'll start from scratch.",
  )
  assert done[0].text == expected % {"messages": 5, "leads": 0, "feedback": 0}
  assert customer().language == "ru"


def test_forget_declined_keeps_everything():
  say("/forget")

  replies = press("forget:no")

  assert replies[0].text == "OK, nothing was deleted."
  assert Message.objects.filter(customer__external_id=USER).count() == 4


@pytest.mark.parametrize("data", ["forget:yes", "forget:maybe"])
def test_forget_button_without_a_request_is_outdated(data):
  replies = press(data)

  assert replies[0].text.startswith("This button is outdated")
  assert Message.objects.filter(customer__external_id=USER).count() == 2


def test_consent_button_with_a_bad_value():
  assert press("consent:maybe")[0].text.startswith("This button is outdated")
  assert press("lang:de")[0].text.startswith("This button is outdated")
