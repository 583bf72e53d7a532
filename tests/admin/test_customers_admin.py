import logging

import pytest
from django.urls import reverse

from leads.admin_customers import _sections
from leads.models import Customer
from memory.models import Message
from tests.factories import (
  chat_factory,
  customer_factory,
  lead_factory,
  llm_model_factory,
  message_factory,
)


def _form(customer: Customer, **changes) -> dict:
  data = {
    "display_name": customer.display_name,
    "phone": customer.phone,
    "email": customer.email,
    "consent": customer.consent,
    "language": customer.language,
    "selected_model": customer.selected_model_id or "",
    "leads-TOTAL_FORMS": "0",
    "leads-INITIAL_FORMS": "0",
    "leads-MIN_NUM_FORMS": "0",
    "leads-MAX_NUM_FORMS": "1000",
  }
  return {**data, **changes}


@pytest.mark.django_db
def test_customer_list_searches_and_filters(admin_client_en):
  # given
  olga = customer_factory(first_name="Olga", phone="+79990001122", consent=Customer.Consent.GIVEN)
  english = customer_factory(first_name="John", language="en", username="johnny")
  url = reverse("admin:leads_customer_changelist")

  def ids(params):
    return [c.pk for c in admin_client_en.get(url, params).context["cl"].result_list]

  # then
  assert ids({"q": "olga"}) == [olga.pk]
  assert ids({"q": "0001122"}) == [olga.pk]
  assert ids({"q": "johnny"}) == [english.pk]
  assert ids({"q": olga.external_id}) == [olga.pk]
  assert ids({"consent__exact": "given"}) == [olga.pk]
  assert ids({"language__exact": "en"}) == [english.pk]


@pytest.mark.django_db
def test_customer_page_shows_leads_inline_conversations_and_preview_form(admin_client_en):
  # given
  customer = customer_factory(first_name="Olga")
  lead_factory(customer=customer, phone="+79990001122")
  chat = chat_factory(title="Olga's chat")
  message_factory(chat=chat, customer=customer)

  # when
  page = admin_client_en.get(reverse("admin:leads_customer_change", args=[customer.pk]))

  # then
  html = page.content.decode()
  assert page.status_code == 200
  assert "+79990001122" in html
  assert reverse("admin:memory_chat_transcript", args=[chat.pk]) in html
  assert "Olga&#x27;s chat" in html
  assert 'form="context-preview-get"' in html
  assert reverse("admin:leads_customer_context", args=[customer.pk]) in html


@pytest.mark.django_db
def test_staff_consent_and_language_changes_go_through_services(admin_client_en, caplog):
  # given
  model = llm_model_factory(provider_model_name="fake/other")
  customer = customer_factory()
  caplog.set_level(logging.INFO)
  url = reverse("admin:leads_customer_change", args=[customer.pk])

  # when
  response = admin_client_en.post(
    url,
    _form(customer, consent="given", language="en", selected_model=model.pk, phone="+79990000000"),
  )

  # then
  assert response.status_code == 302
  customer.refresh_from_db()
  assert (customer.consent, customer.language, customer.phone) == ("given", "en", "+79990000000")
  assert customer.consent_at is not None
  assert customer.selected_model == model
  assert f"Customer #{customer.pk} switched language to en" in caplog.messages
  assert f"Customer #{customer.pk} model set to fake/other by staff" in caplog.messages


@pytest.mark.django_db
def test_staff_can_reset_consent_to_not_asked(admin_client_en):
  customer = customer_factory(consent=Customer.Consent.GIVEN)
  url = reverse("admin:leads_customer_change", args=[customer.pk])
  assert admin_client_en.post(url, _form(customer, consent="unknown")).status_code == 302
  customer.refresh_from_db()
  assert (customer.consent, customer.consent_at) == ("unknown", None)


@pytest.mark.django_db
def test_customer_transcript_shows_every_chat_of_the_customer(admin_client_en):
  # given
  customer = customer_factory(first_name="Olga")
  private, group = chat_factory(title="Private"), chat_factory(title="Group", type="group")
  message_factory(chat=private, customer=customer, text="in private")
  message_factory(chat=group, customer=customer, text="in the group")
  message_factory(chat=group, customer=customer_factory(), text="someone else")

  # when
  page = admin_client_en.get(reverse("admin:leads_customer_transcript", args=[customer.pk]))

  # then
  html = page.content.decode()
  assert "in private" in html and "in the group" in html
  assert "someone else" not in html
  assert "Transcript: Olga" in html


@pytest.mark.django_db
def test_context_preview_renders_what_memory_would_send(admin_client_en):
  # given
  from memory.selectors import context_preview

  customer = customer_factory()
  chat = chat_factory()
  message_factory(chat=chat, customer=customer, text="I need a website for my bakery")
  message_factory(
    chat=chat, customer=customer, role=Message.Role.ASSISTANT, text="Great, tell me more"
  )
  url = reverse("admin:leads_customer_context", args=[customer.pk])

  # when
  empty = admin_client_en.get(url)
  page = admin_client_en.get(url, {"q": "bakery website"})

  # then
  assert "Type a question" in empty.content.decode()
  expected = context_preview(customer=customer, query="bakery website")
  html = page.content.decode()
  assert page.status_code == 200
  for key in expected:
    assert str(key).replace("_", " ").capitalize() in html
  assert "bakery" in html


def test_preview_sections_render_text_turns_bullets_tables_and_json():
  sections = _sections(
    {
      "system_prompt": "You are...",
      "history": [{"role": "user", "content": "hi"}],
      "background": ["a note"],
      "counts": {"history_messages": 2, "terms": ["websit", "price"], "model": "", "cut": None},
      "message_ids": {"history": [1, 2], "nested": {"a": 1}},
    }
  )
  assert sections == [
    {"title": "System prompt", "text": "You are..."},
    {"title": "History", "turns": [{"role": "user", "content": "hi"}]},
    {"title": "Background", "bullets": ["a note"]},
    {
      "title": "Counts",
      "rows": [("history messages", "2"), ("terms", "websit, price"), ("model", "—"), ("cut", "—")],
    },
    {
      "title": "Message ids",
      "json": '{\n  "history": [\n    1,\n    2\n  ],\n  "nested": {\n    "a": 1\n  }\n}',
    },
  ]


@pytest.mark.django_db
def test_customers_cannot_be_added_by_hand(admin_client_en):
  assert admin_client_en.get(reverse("admin:leads_customer_add")).status_code == 403
