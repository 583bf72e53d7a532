"""Log in, filter leads, export XLSX, open a transcript and the analytics page in a real browser."""

import io

import openpyxl
import pytest
from django.contrib.auth.models import User

from leads.models import Feedback, Lead
from llm.models import Prompt
from llm.prompts import prompt_update
from memory.models import Message
from tests.browser.conftest import ARTIFACTS
from tests.factories import chat_factory, customer_factory, lead_factory, service_factory

pytestmark = [
  pytest.mark.browser,
  pytest.mark.django_db(transaction=True),
  # WhiteNoise checks STATIC_ROOT when the session-wide live server starts; static files are
  # served from the apps here, so no collectstatic is needed.
  pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def ids(transactional_db) -> dict[str, int]:
  """Leads in several stages and one conversation (made before the browser's event loop starts)."""
  User.objects.create_superuser("boss", "boss@example.com", "pass-Word-123")
  service = service_factory(name="Website")
  for n in range(3):
    lead_factory(
      customer=customer_factory(first_name=f"Winner{n}"),
      stage=Lead.Stage.WON,
      service=service,
      name=f"Winner {n}",
      phone=f"+7999000000{n}",
    )
  for n in range(4):
    lead_factory(customer=customer_factory(first_name=f"Fresh{n}"), name=f"Fresh {n}")
  chat, customer = chat_factory(title="Olga"), customer_factory(first_name="Olga")
  Message.objects.create(chat=chat, customer=customer, role="user", text="How much is a website?")
  answer = Message.objects.create(
    chat=chat,
    customer=customer,
    role="assistant",
    text="From 45 000 RUB.",
    model_name="fake/default",
    prompt_tokens=120,
    completion_tokens=12,
    latency_ms=900,
  )
  Feedback.objects.create(customer=customer, message=answer, rating=1)
  prompt = Prompt(key="system", language="en")
  prompt_update(prompt=prompt, text="You are the assistant of a web studio.")
  return {"chat": chat.pk, "customer": customer.pk, "prompt": prompt.pk}


def test_staff_member_filters_leads_exports_xlsx_and_reads_analytics(
  ids, live_server, browser_page
):
  # given
  page = browser_page
  page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])

  # when: log in
  page.goto(f"{live_server.url}/admin/")
  page.fill("#id_username", "boss")
  page.fill("#id_password", "pass-Word-123")
  page.click("input[type=submit]")
  page.wait_for_selector("#assistant-tools")
  page.screenshot(path=ARTIFACTS / "admin-index.png", full_page=True)

  # ...filter the leads by stage
  page.goto(f"{live_server.url}/admin/leads/lead/")
  page.click("#changelist-filter a[href='?stage__exact=won']")
  page.wait_for_url("**stage__exact=won**")
  names = page.locator("#result_list td.field-name").all_inner_texts()
  page.screenshot(path=ARTIFACTS / "leads-won.png", full_page=True)

  # ...export them as XLSX and download the file once it is built
  page.click("#export-xlsx")
  page.wait_for_selector("#export-list a[href*='/download/']", timeout=30_000)
  with page.expect_download() as download_info:
    page.click("#export-list a[href*='/download/']")
  path = ARTIFACTS / "leads-won.xlsx"
  download_info.value.save_as(path)
  page.screenshot(path=ARTIFACTS / "exports.png", full_page=True)

  # ...read the transcript
  page.goto(f"{live_server.url}/admin/memory/chat/{ids['chat']}/transcript/")
  bubbles = page.locator(".bubble").count()
  page.screenshot(path=ARTIFACTS / "transcript.png", full_page=True)

  # ...see what the assistant would put into its context for a question
  page.goto(f"{live_server.url}/admin/leads/customer/{ids['customer']}/change/")
  page.fill("#context-query", "website price")
  page.click("button[form=context-preview-get]")
  page.wait_for_url("**/context/?q=website+price")
  context_text = page.inner_text("#content-main")
  page.screenshot(path=ARTIFACTS / "customer-context.png", full_page=True)

  # ...test a prompt draft
  page.goto(f"{live_server.url}/admin/llm/prompt/{ids['prompt']}/preview/")
  page.fill("#id_question", "How much is a website?")
  page.fill("#id_text", "You are the cheerful assistant of a web studio.")
  page.uncheck("#id_ask_llm")
  page.click("#prompt-preview-form input[type=submit]")
  built = page.inner_text("#built-prompt")
  page.screenshot(path=ARTIFACTS / "prompt-preview.png", full_page=True)

  # ...and open the analytics page
  page.goto(f"{live_server.url}/admin/analytics/")
  page.wait_for_selector("body[data-charts-ready='1']")
  canvases = page.locator("canvas").count()
  summary_leads = page.inner_text("#sum-leads")
  page.screenshot(path=ARTIFACTS / "analytics.png", full_page=True)

  # then
  assert sorted(names) == ["Winner 0", "Winner 1", "Winner 2"]
  sheet = openpyxl.load_workbook(io.BytesIO(path.read_bytes())).active
  rows = list(sheet.iter_rows(values_only=True))
  assert rows[0][2] == "stage"
  assert sorted(row[7] for row in rows[1:]) == ["Winner 0", "Winner 1", "Winner 2"]
  assert bubbles == 2
  assert "How much is a website?" in context_text
  assert built.startswith("You are the cheerful assistant of a web studio.")
  assert canvases == 7
  assert summary_leads == "7"
