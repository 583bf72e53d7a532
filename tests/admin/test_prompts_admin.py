import csv
import io

import pytest
from django.urls import reverse

from llm.admin_prompts import text_diff
from llm.models import Prompt, PromptVersion
from llm.prompts import prompt_update
from tests.admin.import_export_flow import admin_export_csv, admin_import
from tests.factories import faq_factory


def _prompt(text: str = "Be helpful.", key: str = "system", language: str = "en") -> Prompt:
  prompt = Prompt(key=key, language=language, text=text)
  prompt_update(prompt=prompt, text=text)
  return prompt


def _form(prompt: Prompt, text: str) -> dict:
  return {
    "key": prompt.key,
    "language": prompt.language,
    "text": text,
    "active": "on",
    "versions-TOTAL_FORMS": "0",
    "versions-INITIAL_FORMS": "0",
    "versions-MIN_NUM_FORMS": "0",
    "versions-MAX_NUM_FORMS": "1000",
  }


@pytest.mark.django_db
def test_editing_a_prompt_saves_a_new_version_by_the_staff_member(admin_client_en, superuser):
  # given
  prompt = _prompt("Be helpful.")
  url = reverse("admin:llm_prompt_change", args=[prompt.pk])

  # when
  response = admin_client_en.post(url, _form(prompt, "Be helpful and brief."))
  unchanged = admin_client_en.post(url, _form(prompt, "Be helpful and brief."))

  # then
  assert response.status_code == 302 and unchanged.status_code == 302
  prompt.refresh_from_db()
  assert (prompt.text, prompt.version) == ("Be helpful and brief.", 2)
  latest = prompt.versions.get(version=2)
  assert latest.created_by == superuser
  assert prompt.versions.count() == 2


@pytest.mark.django_db
def test_adding_a_prompt_creates_version_one(admin_client_en):
  response = admin_client_en.post(
    reverse("admin:llm_prompt_add"), _form(Prompt(key="greeting", language="ru"), "Привет!")
  )
  assert response.status_code == 302
  prompt = Prompt.objects.get(key="greeting")
  assert prompt.version == 1 and prompt.versions.get().text == "Привет!"


@pytest.mark.django_db
def test_history_shows_diffs_and_reverting_makes_a_new_version(admin_client_en):
  # given
  prompt = _prompt("line one\nline two")
  prompt_update(prompt=prompt, text="line one\nline 2")
  prompt_update(prompt=prompt, text="line one\nline 2")
  first = prompt.versions.get(version=1)
  url = reverse("admin:llm_prompt_change", args=[prompt.pk])

  # when
  page = admin_client_en.get(url).content.decode()
  revert_url = reverse("admin:llm_prompt_revert", args=[prompt.pk, first.pk])
  response = admin_client_en.post(revert_url, follow=True)

  # then
  assert '<span class="diff-del">-line two</span>' in page
  assert '<span class="diff-add">+line 2</span>' in page
  assert "First version" in page and "Revert to this version" in page
  assert f'formaction="{revert_url}"' in page
  assert "Reverted to the text of version 1; it is now version 3." in response.content.decode()
  prompt.refresh_from_db()
  assert (prompt.text, prompt.version) == ("line one\nline two", 3)
  assert admin_client_en.get(revert_url).status_code == 405


def test_text_diff_marks_same_text_as_empty_diff():
  assert text_diff("a", "a") == '<pre class="diff"></pre>'
  assert "&lt;b&gt;" in text_diff("a", "<b>")


@pytest.mark.django_db
def test_a_version_with_the_same_text_as_the_previous_says_so(admin_client_en):
  prompt = _prompt("same")
  PromptVersion.objects.create(prompt=prompt, version=2, text="same")
  page = admin_client_en.get(reverse("admin:llm_prompt_change", args=[prompt.pk])).content.decode()
  assert "Same text as the previous version" in page


@pytest.mark.django_db(transaction=True)
def test_preview_builds_the_system_prompt_from_the_draft_and_asks_the_llm(
  admin_client_en, llm_model, fake_llm
):
  # given
  prompt = _prompt("You sell bread.")
  faq_factory(key="delivery", language="en", question="Do you deliver bread?", answer="Yes, daily.")
  fake_llm.enqueue(text="We deliver daily!", prompt_tokens=50, completion_tokens=6)
  url = reverse("admin:llm_prompt_preview", args=[prompt.pk])

  # when
  form = admin_client_en.get(url)
  response = admin_client_en.post(
    url,
    {"question": "Do you deliver bread?", "text": "You sell cakes.", "model": "", "ask_llm": "on"},
  )

  # then
  html = response.content.decode()
  assert form.status_code == 200 and "You sell bread." in form.content.decode()
  assert response.context["built"].startswith("You sell cakes.")
  assert "Q: Do you deliver bread?\nA: Yes, daily." in response.context["built"]
  assert "We deliver daily!" in html and "50+6 tokens" in html
  sent = fake_llm.requests[-1]["json"]["messages"]
  assert sent[0] == {"role": "system", "content": response.context["built"]}
  assert sent[1] == {"role": "user", "content": "Do you deliver bread?"}
  prompt.refresh_from_db()
  assert (prompt.text, prompt.version, prompt.versions.count()) == ("You sell bread.", 1, 1)


@pytest.mark.django_db(transaction=True)
def test_preview_without_a_model_shows_the_prompt_and_the_llm_error(admin_client_en):
  prompt = _prompt("You sell bread.")
  response = admin_client_en.post(
    reverse("admin:llm_prompt_preview", args=[prompt.pk]),
    {"question": "Hi", "text": "You sell bread.", "model": "", "ask_llm": "on"},
  )
  html = response.content.decode()
  assert response.context["built"].startswith("You sell bread.")
  assert "The LLM did not answer:" in html


@pytest.mark.django_db
def test_preview_of_a_greeting_renders_the_text_without_an_llm_call(admin_client_en):
  prompt = _prompt("Hello, {name}!", key="greeting")
  response = admin_client_en.post(
    reverse("admin:llm_prompt_preview", args=[prompt.pk]),
    {"question": "-", "text": "Hi there, {name}!", "ask_llm": "on"},
  )
  assert response.context["built"] == "Hi there, Anna!"
  assert "completion" not in response.context
  assert "Text the customer would get" in response.content.decode()


@pytest.mark.django_db
def test_prompts_export_and_import_round_trip_making_versions(admin_client_en):
  # given
  _prompt("Old text", key="help", language="en")

  # when
  exported = admin_export_csv(admin_client_en, reverse("admin:llm_prompt_export"))
  _preview, done = admin_import(
    admin_client_en,
    reverse("admin:llm_prompt_import"),
    reverse("admin:llm_prompt_process_import"),
    "key,language,text,active\nhelp,en,New text,1\nconsent,ru,Согласны?,1\n",
  )

  # then
  assert list(csv.DictReader(io.StringIO(exported))) == [
    {"key": "help", "language": "en", "text": "Old text", "active": "1"}
  ]
  assert done.status_code == 200
  help_prompt = Prompt.objects.get(key="help")
  assert (help_prompt.text, help_prompt.version) == ("New text", 2)
  assert help_prompt.versions.get(version=2).created_by is not None
  assert Prompt.objects.get(key="consent").versions.count() == 1


@pytest.mark.django_db
def test_editors_may_edit_prompts_and_managers_may_not(editor_client, manager_client):
  prompt = _prompt("x")
  url = reverse("admin:llm_prompt_change", args=[prompt.pk])
  assert editor_client.post(url, _form(prompt, "y")).status_code == 302
  assert manager_client.get(url).status_code == 403
  assert (
    manager_client.get(reverse("admin:llm_prompt_preview", args=[prompt.pk])).status_code == 403
  )
  revert = reverse("admin:llm_prompt_revert", args=[prompt.pk, prompt.versions.first().pk])
  assert manager_client.post(revert).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_prompt_saved_in_the_admin_applies_to_the_next_message(
  admin_client_en, fake_llm, llm_model
):
  # given: the assistant has answered once with the current prompt
  from memory.models import Message
  from tests.assistant.engine_helpers import say

  prompt = _prompt("You sell bread.", key="system", language="en")
  say("hi", language="en")
  before = fake_llm.chat_requests[-1]["json"]["messages"][0]["content"]

  # when: staff save a new text, with the engine running on
  url = reverse("admin:llm_prompt_change", args=[prompt.pk])
  assert admin_client_en.post(url, _form(prompt, "You sell cakes.")).status_code == 302
  say("and now?", language="en")

  # then
  after = fake_llm.chat_requests[-1]["json"]["messages"][0]["content"]
  assert before.startswith("You sell bread.")
  assert after.startswith("You sell cakes.")
  answer = Message.objects.filter(role=Message.Role.ASSISTANT).latest("id")
  assert (answer.prompt_version.prompt_id, answer.prompt_version.version) == (prompt.pk, 2)
