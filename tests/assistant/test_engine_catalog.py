"""The catalog (/services, details, interest) and needs-discovery scenarios."""

from decimal import Decimal

import pytest

from leads.models import Lead, Scenario
from memory.models import Message
from tests.assistant.engine_helpers import (
  agree,
  customer,
  data_of,
  labels_of,
  press,
  say,
  scenario_factory,
)
from tests.factories import service_factory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalog(db):
  return [
    service_factory(
      slug="site",
      language="en",
      name="Website",
      description="A landing page.",
      price=Decimal("45000"),
      ordering=1,
    ),
    service_factory(
      slug="seo", language="en", name="SEO", price=Decimal("1500.50"), currency="USD", ordering=2
    ),
    service_factory(slug="audit", language="en", name="Audit", price=None, ordering=3),
  ]


def test_services_lists_the_catalog_as_buttons(catalog):
  replies = say("/services")

  assert data_of(replies[0]) == ["svc:site", "svc:seo", "svc:audit"]
  assert labels_of(replies[0]) == ["Website — 45,000 ₽", "SEO — 1,500.50 $", "Audit"]


def test_services_with_an_empty_catalog():
  replies = say("/services")

  assert replies[0].text == "The catalog is empty right now. Ask me anything in your own words."


def test_service_details_offer_interest(catalog):
  # when
  replies = press("svc:site")

  # then
  assert replies[0].text == "Website\n\nA landing page.\n\nPrice: 45,000 ₽"
  assert data_of(replies[0]) == ["int:site", "svc:"]
  assert Message.objects.get(role=Message.Role.USER).text == "Website"  # the label, not the data


def test_back_to_all_services(catalog):
  assert data_of(press("svc:")[0]) == ["svc:site", "svc:seo", "svc:audit"]


def test_interest_is_recorded_on_the_lead_and_a_contact_asked(catalog):
  # given
  agree()
  scenario_factory()

  # when
  replies = press("int:site")

  # then
  lead = Lead.objects.get()
  assert (lead.service.slug, lead.stage, lead.phone) == ("site", "new", "")
  assert data_of(replies[0]) == ["scn:budget"]
  assert replies[0].text.startswith("Great, I've noted your interest in “Website”.")
  assert replies[1].request_contact == "📱 Share my phone"


def test_interest_from_a_returning_customer_updates_the_lead(catalog):
  # given
  agree()
  press("int:site")

  # when
  press("int:seo")

  # then
  assert Lead.objects.get().service.slug == "seo"


def test_interest_without_consent_asks_consent_first(catalog):
  replies = press("int:audit")

  assert Lead.objects.get().service.slug == "audit"
  assert data_of(replies[-1]) == ["consent:yes", "consent:no"]
  assert customer().state["after_consent"] == "contact"


def test_interest_with_a_known_contact_asks_nothing_more(catalog):
  agree()
  say("+7 912 345-67-89")

  replies = press("int:site")

  assert len(replies) == 1
  assert replies[0].buttons == []


@pytest.mark.parametrize("data", ["svc:nope", "int:nope"])
def test_unknown_service_is_an_outdated_button(catalog, data):
  replies = press(data)

  assert replies[0].text == "This button is outdated. Send /start to see the menu again."


def test_scenario_runs_to_a_qualified_lead(catalog):
  # given
  agree()
  scenario_factory()

  # when
  started = press("scn:budget")
  second = press("scn:budget:0:1")
  third = press("scn:budget:1:0")
  done = say("next month")

  # then
  assert started[0].text == "Let's go! A few short questions (send /cancel to stop)."
  assert started[1].text == "(1/3) What do you need?\nChoose an option or write your own answer."
  assert data_of(started[1]) == ["scn:budget:0:0", "scn:budget:0:1"]
  assert second[0].text.startswith("(2/3) Your budget?")
  assert third[0].text == "(3/3) When do you need it?"
  assert third[0].buttons == []
  lead = Lead.objects.get()
  assert lead.answers == {"goal": "An app", "budget": "< 100k", "deadline": "next month"}
  assert lead.stage == Lead.Stage.QUALIFIED
  assert lead.stage_changed_at is not None
  assert done[-1].request_contact == "📱 Share my phone"
  assert "scenario" not in customer().state


def test_scenario_free_text_answers_are_stored(catalog):
  agree()
  scenario_factory()
  press("scn:budget")

  say("a shop")

  assert Lead.objects.get().answers == {"goal": "a shop"}


def test_scenario_does_not_downgrade_a_contacted_lead():
  # given
  person = agree()
  say("+7 912 345-67-89")
  Lead.objects.update(stage=Lead.Stage.CONTACTED)
  scenario_factory(steps=[{"key": "goal", "question": "What?", "options": []}])
  press("scn:budget")

  # when
  replies = say("a site")

  # then
  assert Lead.objects.get(customer=person).stage == Lead.Stage.CONTACTED
  assert len(replies) == 1  # the contact is known: no request


@pytest.mark.parametrize(
  "data",
  [
    "scn:budget:1:0",  # not the current step
    "scn:budget:0:5",  # no such option
    "scn:budget:x:0",
    "scn:budget:0",
    "scn:other:0:0",
    "scn:nope",
  ],
)
def test_stale_or_tampered_scenario_buttons(data):
  scenario_factory()
  press("scn:budget")

  replies = press(data)

  assert replies[0].text == "This button is outdated. Send /start to see the menu again."
  assert customer().state["scenario"] == {"key": "budget", "step": 0}


def test_cancel_leaves_the_scenario(fake_llm, llm_model):
  # given
  scenario_factory()
  press("scn:budget")

  # when
  cancelled = say("/cancel")
  nothing = say("/cancel")
  answered = say("What do you do?")

  # then
  assert cancelled[0].text == "Cancelled. How else can I help?"
  assert cancelled[0].remove_keyboard is True
  assert nothing[0].text == "There is nothing to cancel. How can I help?"
  assert answered[0].text == "Fake answer."
  assert Lead.objects.count() == 0  # no answer given, no lead


def test_scenario_removed_meanwhile_lets_the_text_through(fake_llm, llm_model):
  # given
  scenario_factory()
  press("scn:budget")
  Scenario.objects.all().delete()

  # when
  replies = say("A website")

  # then
  assert replies[0].text == "Fake answer."
  assert "scenario" not in customer().state


def test_scenario_with_admin_edited_option_mappings():
  scenario_factory(
    steps=[
      {"key": "goal", "question": "What?", "options": [{"label": "Shop"}, {"text": "Blog"}, 7]},
      {"not": "a step"},
    ]
  )

  replies = press("scn:budget")
  done = press("scn:budget:0:2")

  assert labels_of(replies[1]) == ["Shop", "Blog", "7"]
  assert Lead.objects.get().answers == {"goal": "7"}
  assert Lead.objects.get().stage == Lead.Stage.QUALIFIED
  assert done[0].text


def test_menu_offers_scenarios_with_steps_only():
  scenario_factory(key="budget")
  scenario_factory(key="empty", title="Nothing", steps=[])

  replies = press("consent:yes")

  assert data_of(replies[0]) == ["svc:", "scn:budget"]


def test_start_cancels_a_running_scenario():
  scenario_factory()
  press("scn:budget")

  say("/start")

  assert "scenario" not in customer().state


def test_service_whose_button_data_would_be_too_long_is_left_out(catalog):
  service_factory(slug="s" * 70, language="en", name="Long", ordering=9)

  replies = say("/services")

  assert data_of(replies[0]) == ["svc:site", "svc:seo", "svc:audit"]
