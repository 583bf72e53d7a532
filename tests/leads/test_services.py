import datetime as dt
import logging

import pytest
from django.utils import timezone

from leads.models import Customer, Feedback, Lead
from leads.services import (
  ConsentRequired,
  customer_consent_set,
  customer_language_set,
  customer_state_save,
  customer_upsert,
  feedback_comment_set,
  feedback_leave,
  feedback_rate,
  language_from_code,
  lead_answer_set,
  lead_set_interest,
  lead_stage_set,
  lead_upsert,
)
from memory.models import Message
from tests.factories import customer_factory, lead_factory, message_factory, service_factory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
  ("code", "expected"),
  [("ru", "ru"), ("en", "en"), ("en-US", "en"), ("EN_gb", "en"), ("de", "ru"), ("", "ru")],
)
def test_language_from_code(code, expected):
  assert language_from_code(code) == expected


def test_language_from_code_falls_back_to_the_configured_language(settings):
  settings.LANGUAGE_CODE = "en"

  assert language_from_code("uk") == "en"


def test_customer_upsert_creates_then_refreshes():
  # when
  created, is_new = customer_upsert(
    channel="telegram", external_id="7", first_name="Anna", username="anna", language_code="en"
  )
  again, again_new = customer_upsert(
    channel="telegram", external_id="7", first_name="Anya", language_code="ru"
  )

  # then
  assert (is_new, again_new) == (True, False)
  assert again.pk == created.pk
  assert (again.first_name, again.username, again.language) == ("Anya", "anna", "en")
  assert again.last_seen_at >= created.last_seen_at


def test_customer_upsert_writes_last_seen_at_most_once_a_minute(django_assert_num_queries):
  # given
  customer_upsert(channel="telegram", external_id="9", first_name="Anna")
  Customer.objects.update(last_seen_at=timezone.now() - dt.timedelta(minutes=2))

  # when
  customer_upsert(channel="telegram", external_id="9", first_name="Anna")  # stale: written
  with django_assert_num_queries(1):  # only the look-up
    seen, _created = customer_upsert(channel="telegram", external_id="9", first_name="Anna")

  # then
  assert timezone.now() - seen.last_seen_at < dt.timedelta(seconds=30)


def test_customer_upsert_survives_a_parallel_create(monkeypatch):
  # given: the row appears between our lookup and our insert
  existing = customer_factory(channel="telegram", external_id="8")
  real_filter = Customer.objects.filter
  calls = {"n": 0}

  def filter_missing_once(*args, **kwargs):
    calls["n"] += 1
    return real_filter(pk=-1) if calls["n"] == 1 else real_filter(*args, **kwargs)

  monkeypatch.setattr(Customer.objects, "filter", filter_missing_once)

  # when
  customer, created = customer_upsert(channel="telegram", external_id="8")

  # then
  assert (customer.pk, created) == (existing.pk, False)


def test_customer_language_set(caplog):
  customer = customer_factory(language="ru")

  with caplog.at_level(logging.INFO, logger="leads.services"):
    customer_language_set(customer=customer, language="en")
    customer_language_set(customer=customer, language="en")

  assert Customer.objects.get().language == "en"
  assert len(caplog.records) == 1
  with pytest.raises(ValueError, match="Unsupported language 'de'"):
    customer_language_set(customer=customer, language="de")


def test_customer_consent_set_stores_the_answer_and_its_time():
  customer = customer_factory()

  customer_consent_set(customer=customer, given=False)

  stored = Customer.objects.get()
  assert stored.consent == Customer.Consent.REFUSED
  assert stored.consent_at is not None


def test_customer_state_save():
  customer = customer_factory()

  customer_state_save(customer=customer, state={"pending": {"kind": "feedback"}})

  assert Customer.objects.get().state == {"pending": {"kind": "feedback"}}


def test_lead_upsert_needs_consent_for_contacts():
  customer = customer_factory()

  with pytest.raises(ConsentRequired):
    lead_upsert(customer=customer, phone="+79123456789")
  lead = lead_upsert(customer=customer)

  assert (lead.stage, lead.source, lead.name, lead.phone) == ("new", "telegram", "", "")


def test_lead_upsert_creates_then_updates_the_open_lead():
  # given
  customer = customer_factory(consent=Customer.Consent.GIVEN, first_name="Anna", last_name="K")

  # when
  first = lead_upsert(customer=customer, phone="+79123456789", source="contact_-100")
  second = lead_upsert(customer=customer, email="anna@example.com", name="Anna Petrova", source="x")

  # then
  assert first.pk == second.pk
  lead = Lead.objects.get()
  assert (lead.source, lead.phone, lead.email, lead.name) == (
    "contact_-100",
    "+79123456789",
    "anna@example.com",
    "Anna Petrova",
  )
  stored = Customer.objects.get()
  assert (stored.phone, stored.email, stored.display_name) == (
    "+79123456789",
    "anna@example.com",
    "Anna Petrova",
  )


def test_lead_upsert_uses_the_profile_name_for_a_new_lead():
  customer = customer_factory(consent=Customer.Consent.GIVEN, first_name="Anna", last_name="K")

  assert lead_upsert(customer=customer).name == "Anna K"


def test_lead_upsert_after_a_lost_lead_starts_a_new_one():
  customer = customer_factory(consent=Customer.Consent.GIVEN)
  lost = lead_factory(customer=customer, stage=Lead.Stage.LOST)

  lead = lead_upsert(customer=customer, phone="+79123456789")

  assert lead.pk != lost.pk
  assert Lead.objects.count() == 2


def test_lead_set_interest_logs(caplog):
  customer = customer_factory()
  service = service_factory(slug="site")

  with caplog.at_level(logging.INFO, logger="leads.services"):
    lead = lead_set_interest(customer=customer, service=service)

  assert lead.service == service
  assert f"Lead #{lead.pk} interested in site" in caplog.messages


def test_lead_answer_set_merges_and_cuts_long_answers():
  customer = customer_factory()

  lead_answer_set(customer=customer, key="goal", answer="shop")
  lead = lead_answer_set(customer=customer, key="budget", answer="x" * 600)

  assert lead.answers == {"goal": "shop", "budget": "x" * 500}
  assert Lead.objects.count() == 1


def test_lead_stage_set_logs_changes_only(caplog):
  lead = lead_factory()

  with caplog.at_level(logging.INFO, logger="leads.services"):
    lead_stage_set(lead=lead, stage=Lead.Stage.QUALIFIED)
    lead_stage_set(lead=lead, stage=Lead.Stage.QUALIFIED)

  assert caplog.messages == [f"Lead #{lead.pk} stage new -> qualified"]
  assert Lead.objects.get().stage_changed_at is not None
  with pytest.raises(ValueError, match="Unknown lead stage 'gone'"):
    lead_stage_set(lead=lead, stage="gone")


def test_feedback_rate_comment_and_free_feedback():
  # given
  customer = customer_factory()
  message = message_factory(role=Message.Role.ASSISTANT, customer=customer)

  # when
  down = feedback_rate(customer=customer, message=message, rating=Feedback.Rating.DOWN)
  commented = feedback_comment_set(customer=customer, feedback_id=down.pk, comment="vague")
  missing = feedback_comment_set(customer=customer_factory(), feedback_id=down.pk, comment="x")
  free = feedback_leave(customer=customer, comment="nice bot")

  # then
  assert commented.comment == "vague"
  assert missing is None
  assert (free.rating, free.message) == (0, None)
  assert Feedback.objects.count() == 2


def test_customer_upsert_tells_when_the_customer_was_seen_before():
  # given
  new, _created = customer_upsert(channel="telegram", external_id="501")
  earlier = timezone.now() - dt.timedelta(hours=3)
  Customer.objects.filter(pk=new.pk).update(last_seen_at=earlier)

  # when
  again, created = customer_upsert(channel="telegram", external_id="501")

  # then: the previous value, while last_seen_at moved on
  assert new.previously_seen_at is None
  assert not created
  assert again.previously_seen_at == earlier
  assert again.last_seen_at > earlier
