import logging

import pytest
from django.urls import reverse

from leads.models import Customer, Feedback, Lead
from memory.models import Message
from tests.factories import (
  customer_factory,
  lead_factory,
  message_factory,
  service_factory,
)

CHANGELIST = "admin:leads_lead_changelist"


def _ids(response) -> list[int]:
  return [lead.pk for lead in response.context["cl"].result_list]


@pytest.mark.django_db
def test_lead_list_searches_name_phone_email_username_and_customer_names(admin_client_en):
  # given
  by_name = lead_factory(name="Boris Petrov")
  by_phone = lead_factory(phone="+79991234567")
  by_email = lead_factory(email="olga@example.com")
  by_username = lead_factory(customer=customer_factory(username="ivan_k"))
  by_customer = lead_factory(customer=customer_factory(first_name="Zinaida"))
  lead_factory(name="Nobody")
  url = reverse(CHANGELIST)

  # when / then
  assert _ids(admin_client_en.get(url, {"q": "petrov"})) == [by_name.pk]
  assert _ids(admin_client_en.get(url, {"q": "999123"})) == [by_phone.pk]
  assert _ids(admin_client_en.get(url, {"q": "olga@"})) == [by_email.pk]
  assert _ids(admin_client_en.get(url, {"q": "ivan_k"})) == [by_username.pk]
  assert _ids(admin_client_en.get(url, {"q": "zinaida"})) == [by_customer.pk]


@pytest.mark.django_db
def test_lead_list_filters_stage_service_source_consent_and_date(admin_client_en):
  # given
  service = service_factory(name="Audit")
  won = lead_factory(stage=Lead.Stage.WON)
  audit = lead_factory(service=service)
  web = lead_factory(source="website")
  consented = lead_factory(customer=customer_factory(consent=Customer.Consent.GIVEN))
  url = reverse(CHANGELIST)

  # when / then
  assert _ids(admin_client_en.get(url, {"stage__exact": "won"})) == [won.pk]
  assert _ids(admin_client_en.get(url, {"service__id__exact": service.pk})) == [audit.pk]
  assert _ids(admin_client_en.get(url, {"source": "website"})) == [web.pk]
  assert _ids(admin_client_en.get(url, {"customer__consent__exact": "given"})) == [consented.pk]
  assert len(_ids(admin_client_en.get(url, {"created_at__gte": "2000-01-01 00:00:00+00:00"}))) == 4
  assert _ids(admin_client_en.get(url, {"created_at__lt": "2000-01-01 00:00:00+00:00"})) == []
  source_choices = admin_client_en.get(url).content.decode()
  assert "?source=website" in source_choices


@pytest.mark.django_db
def test_lead_list_sorts_by_stage_column(admin_client_en):
  # given
  lost = lead_factory(stage=Lead.Stage.LOST)
  contacted = lead_factory(stage=Lead.Stage.CONTACTED)
  won = lead_factory(stage=Lead.Stage.WON)

  # when: "o=6" sorts by the 6th column (stage) ascending
  response = admin_client_en.get(reverse(CHANGELIST), {"o": "6"})

  # then
  assert _ids(response) == [contacted.pk, lost.pk, won.pk]


@pytest.mark.django_db
def test_bulk_stage_action_moves_leads_and_logs_each_change(admin_client_en, caplog):
  # given
  first, second = lead_factory(), lead_factory()
  already = lead_factory(stage=Lead.Stage.QUALIFIED)
  caplog.set_level(logging.INFO, logger="leads.services")

  # when
  response = admin_client_en.post(
    reverse(CHANGELIST),
    {"action": "stage_set_qualified", "_selected_action": [first.pk, second.pk, already.pk]},
    follow=True,
  )

  # then
  assert response.status_code == 200
  assert Lead.objects.filter(stage=Lead.Stage.QUALIFIED).count() == 3
  assert "2 leads moved to stage “qualified”." in response.content.decode()
  assert Lead.objects.get(pk=first.pk).stage_changed_at is not None
  changes = [r.getMessage() for r in caplog.records if "stage" in r.getMessage()]
  assert sorted(changes) == sorted(
    [f"Lead #{first.pk} stage new -> qualified", f"Lead #{second.pk} stage new -> qualified"]
  )


@pytest.mark.django_db
def test_every_stage_has_a_bulk_action(admin_client_en):
  response = admin_client_en.get(reverse(CHANGELIST))
  actions = [choice[0] for choice in response.context["action_form"].fields["action"].choices]
  assert [a for a in actions if a.startswith("stage_set_")] == [
    f"stage_set_{stage}" for stage in Lead.Stage.values
  ]


@pytest.mark.django_db
def test_lead_page_shows_customer_answers_feedback_and_recent_messages(admin_client_en):
  # given
  from leads.models import Scenario

  Scenario.objects.create(
    key="needs",
    language="ru",
    title="Needs",
    steps=[
      {"key": "goal", "question": "What is your goal?", "options": []},
      {"key": "budget", "question": "What is your budget?", "options": ["<1000", ">1000"]},
    ],
  )
  customer = customer_factory(first_name="Vera", username="vera", language="ru")
  lead = lead_factory(
    customer=customer, answers={"budget": ">1000", "goal": "A shop", "extra": ["a", "b"]}
  )
  question = message_factory(customer=customer, text="How much is a shop?")
  answer = message_factory(
    chat=question.chat,
    customer=customer,
    role=Message.Role.ASSISTANT,
    text="From 1000.",
    model_name="fake/default",
    prompt_tokens=12,
    completion_tokens=4,
    latency_ms=850,
  )
  Feedback.objects.create(customer=customer, message=answer, rating=-1, comment="Too vague")

  # when
  page = admin_client_en.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()

  # then: answers in step order, labelled with the questions, unknown keys last
  assert page.index("What is your goal?") < page.index("What is your budget?") < page.index("extra")
  assert "<td>A shop</td>" in page and "<td>a, b</td>" in page
  assert "Vera" in page and "@vera" in page
  assert "Too vague" in page
  assert "How much is a shop?" in page and "From 1000." in page
  assert "12+4 tokens" in page and "850 ms" in page and "👎 1" in page
  assert reverse("admin:leads_customer_transcript", args=[customer.pk]) in page


@pytest.mark.django_db
def test_lead_page_without_answers_feedback_or_messages_says_so(admin_client_en):
  lead = lead_factory()
  page = admin_client_en.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
  assert "No answers yet." in page
  assert "No feedback yet." in page
  assert "No messages yet." in page


@pytest.mark.django_db
def test_saving_a_new_stage_on_the_lead_page_goes_through_the_service(admin_client_en, caplog):
  # given
  lead = lead_factory(name="Ann")
  caplog.set_level(logging.INFO, logger="leads.services")
  url = reverse("admin:leads_lead_change", args=[lead.pk])
  form = {
    "stage": "won",
    "service": "",
    "source": lead.source,
    "notes": "Signed",
    "name": "Ann",
    "phone": "",
    "email": "",
  }

  # when
  response = admin_client_en.post(url, form)

  # then
  assert response.status_code == 302
  lead.refresh_from_db()
  assert (lead.stage, lead.notes) == ("won", "Signed")
  assert lead.stage_changed_at is not None
  assert f"Lead #{lead.pk} stage new -> won" in caplog.messages


@pytest.mark.django_db
def test_saving_the_lead_page_without_a_stage_change_keeps_the_stage_time(admin_client_en):
  lead = lead_factory(name="Ann")
  url = reverse("admin:leads_lead_change", args=[lead.pk])
  form = {
    "stage": "new",
    "service": "",
    "source": lead.source,
    "notes": "x",
    "name": "Ann",
    "phone": "",
    "email": "",
  }
  assert admin_client_en.post(url, form).status_code == 302
  lead.refresh_from_db()
  assert (lead.notes, lead.stage_changed_at) == ("x", None)


@pytest.mark.django_db
def test_leads_cannot_be_added_by_hand(admin_client_en):
  assert admin_client_en.get(reverse("admin:leads_lead_add")).status_code == 403


def test_answer_values_of_any_shape_read_as_text():
  from leads.admin_display import answer_text

  assert answer_text(["a", 2]) == "a, 2"
  assert answer_text({"city": "Тверь"}) == '{"city": "Тверь"}'
  assert answer_text(None) == ""
  assert answer_text(5) == "5"
