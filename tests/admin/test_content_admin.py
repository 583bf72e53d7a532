import csv
import html
import io

import pytest
from django.urls import reverse

from leads.models import CatalogService, FAQEntry, Feedback, Scenario
from llm.models import Prompt, PromptVersion
from tests.admin.import_export_flow import admin_export_csv, admin_import
from tests.factories import customer_factory, faq_factory, message_factory, service_factory


@pytest.mark.django_db
def test_faq_import_creates_and_updates_by_key_and_language(admin_client_en):
  # given
  existing = faq_factory(key="delivery", language="ru", question="Old?", answer="Old.")
  csv_text = (
    "key,language,question,answer,keywords,active\n"
    "delivery,ru,Доставка?,Бесплатно.,доставка,1\n"
    "hours,en,Opening hours?,9 to 6.,,1\n"
  )

  # when
  preview, done = admin_import(
    admin_client_en,
    reverse("admin:leads_faqentry_import"),
    reverse("admin:leads_faqentry_process_import"),
    csv_text,
  )

  # then
  assert preview.status_code == 200 and done.status_code == 200
  existing.refresh_from_db()
  assert (existing.question, existing.answer) == ("Доставка?", "Бесплатно.")
  assert FAQEntry.objects.get(key="hours", language="en").answer == "9 to 6."
  assert FAQEntry.objects.count() == 2


@pytest.mark.django_db
def test_catalog_import_rejects_an_invalid_row_and_changes_nothing(admin_client_en):
  csv_text = (
    "slug,language,name,description,price,currency,active,ordering\nbad slug!,ru,,x,abc,RUB,1,1\n"
  )
  preview = admin_client_en.post(reverse("admin:leads_catalogservice_import"), {})
  assert preview.status_code == 200
  from django.core.files.uploadedfile import SimpleUploadedFile

  form = admin_client_en.get(reverse("admin:leads_catalogservice_import")).context["form"]
  csv_index = next(v for v, label in form.fields["format"].choices if label == "csv")
  response = admin_client_en.post(
    reverse("admin:leads_catalogservice_import"),
    {"import_file": SimpleUploadedFile("c.csv", csv_text.encode()), "format": csv_index},
  )
  assert (
    response.context["result"].has_validation_errors() or response.context["result"].has_errors()
  )
  assert CatalogService.objects.count() == 0


@pytest.mark.django_db
def test_catalog_export_has_one_row_per_service(admin_client_en):
  service_factory(slug="site", name="Website", price="45000.00")
  text = admin_export_csv(admin_client_en, reverse("admin:leads_catalogservice_export"))
  rows = list(csv.DictReader(io.StringIO(text)))
  assert [(r["slug"], r["name"], r["price"]) for r in rows] == [("site", "Website", "45000.00")]


@pytest.mark.django_db
def test_catalog_and_faq_lists_search_and_filter(admin_client_en):
  service_factory(slug="seo", name="SEO", language="en")
  faq_factory(key="pay", question="How to pay?", language="en")
  catalog = admin_client_en.get(reverse("admin:leads_catalogservice_changelist"), {"q": "seo"})
  faq = admin_client_en.get(reverse("admin:leads_faqentry_changelist"), {"language__exact": "en"})
  assert [s.slug for s in catalog.context["cl"].result_list] == ["seo"]
  assert [f.key for f in faq.context["cl"].result_list] == ["pay"]
  assert "How to pay?" in faq.content.decode()


def _scenario_form(steps: str) -> dict:
  return {"key": "needs", "language": "ru", "title": "Needs", "steps": steps, "active": "on"}


@pytest.mark.django_db
def test_scenario_steps_are_shown_as_readable_json_and_saved_when_valid(admin_client_en):
  # given
  scenario = Scenario.objects.create(
    key="needs",
    language="ru",
    title="Needs",
    steps=[{"key": "budget", "question": "Бюджет?", "options": []}],
  )
  url = reverse("admin:leads_scenario_change", args=[scenario.pk])

  # when
  page = html.unescape(admin_client_en.get(url).content.decode())
  steps = '[{"key": "goal", "question": " Цель? ", "options": ["Сайт", "Бот"]}]'
  response = admin_client_en.post(url, _scenario_form(steps))

  # then
  assert '"question": "Бюджет?"' in page and '\n  {\n    "key": "budget"' in page
  assert response.status_code == 302
  scenario.refresh_from_db()
  assert scenario.steps == [{"key": "goal", "question": "Цель?", "options": ["Сайт", "Бот"]}]
  listing = admin_client_en.get(reverse("admin:leads_scenario_changelist")).content.decode()
  assert '<td class="field-step_count">1</td>' in listing


@pytest.mark.django_db
@pytest.mark.parametrize(
  ("steps", "error"),
  [
    ("[{]", "Enter a valid JSON."),
    ("[]", "This field is required."),
    ('{"key": "a"}', "expected a non-empty list of steps"),
    ('[{"key": "a", "question": "Q?"}, {"key": "a", "question": "Again?"}]', "duplicate step key"),
    ('[{"key": "a b", "question": "Q?"}]', "is not a code of latin letters"),
    ('[{"key": "a", "question": "Q?", "options": [1]}]', "expected a list of non-empty texts"),
  ],
)
def test_invalid_scenario_steps_are_refused_with_a_clear_error(admin_client_en, steps, error):
  response = admin_client_en.post(reverse("admin:leads_scenario_add"), _scenario_form(steps))
  assert response.status_code == 200
  assert error in response.content.decode()
  assert Scenario.objects.count() == 0


@pytest.mark.django_db
def test_feedback_list_shows_question_answer_and_prompt_version_and_filters(admin_client_en):
  # given
  prompt = Prompt.objects.create(key="system", language="ru", text="Be nice", version=3)
  version = PromptVersion.objects.create(prompt=prompt, version=3, text="Be nice")
  customer = customer_factory(first_name="Olga")
  question = message_factory(customer=customer, text="Do you deliver to Tver?")
  answer = message_factory(
    chat=question.chat,
    customer=customer,
    role="assistant",
    text="Yes, in two days.",
    prompt_version=version,
  )
  down = Feedback.objects.create(
    customer=customer, message=answer, rating=-1, prompt_version=version
  )
  Feedback.objects.create(customer=customer, rating=0, comment="Nice bot")
  url = reverse("admin:leads_feedback_changelist")

  # when
  page = admin_client_en.get(url)
  downs = admin_client_en.get(url, {"rating__exact": "-1"})

  # then
  text = page.content.decode()
  assert "Do you deliver to Tver?" in text and "Yes, in two days." in text
  assert f"?at={answer.pk}#m{answer.pk}" in text
  assert reverse("admin:llm_prompt_change", args=[prompt.pk]) + "#v3" in text
  assert "Nice bot" in text
  assert [f.pk for f in downs.context["cl"].result_list] == [down.pk]
  detail = admin_client_en.get(reverse("admin:leads_feedback_change", args=[down.pk]))
  assert "Do you deliver to Tver?" in detail.content.decode()
  assert admin_client_en.get(reverse("admin:leads_feedback_add")).status_code == 403
