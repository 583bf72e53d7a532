import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from llm.crypto import decrypt_api_key
from llm.models import LLMModel
from memory.models import Message
from tests.factories import customer_factory, llm_model_factory, message_factory

pytestmark = pytest.mark.django_db
PLAIN = "provider-secret-" + "9f8e7d6c5b4a"  # a key the admin types once
CHANGELIST = "admin:llm_llmmodel_changelist"


@pytest.fixture(autouse=True)
def _english_admin_without_manifest(settings, client, tmp_path):
  settings.STATIC_ROOT = tmp_path
  settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins
  settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
  }
  client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def staff(client):
  user = User.objects.create_superuser("boss", "boss@example.com", "pw-12345-long")
  client.force_login(user)
  return client


def _form(**fields) -> dict:
  data = {
    "provider_model_name": "openai/gpt-4o-mini",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "base_url": "",
    "api_key": PLAIN,
    "active": "on",
    "customer_selectable": "on",
    "fallback_order": "10",
    "params": '{"temperature": 0.3}',
    "context_window": "",
    "price_prompt_per_1k": "0.00015",
    "price_completion_per_1k": "0.0006",
  }
  data.update(fields)
  return {key: value for key, value in data.items() if value is not None}


def test_add_stores_only_the_encrypted_key(staff):
  # when
  response = staff.post(reverse("admin:llm_llmmodel_add"), _form())

  # then
  assert response.status_code == 302
  model = LLMModel.objects.get()
  assert model.base_url == "https://api.openai.com/v1"  # the provider's usual address
  assert model.params == {"temperature": 0.3}
  assert decrypt_api_key(model.encrypted_api_key, model_name="x") == PLAIN
  stored = " ".join(str(v) for v in LLMModel.objects.values().get().values())
  assert PLAIN not in stored
  assert all(PLAIN not in entry.change_message for entry in LogEntry.objects.all())
  assert list(response.wsgi_request.sensitive_post_parameters) == ["api_key"]


def test_the_key_is_never_rendered_back(staff):
  model = llm_model_factory(api_key=PLAIN, provider_model_name="m/1")
  url = reverse("admin:llm_llmmodel_change", args=[model.pk])

  page = staff.get(url).content.decode()
  invalid = staff.post(url, _form(provider_model_name="m/1", base_url="ftp://x")).content.decode()

  for html in (page, invalid):
    assert PLAIN not in html
    assert model.encrypted_api_key not in html
  assert "Enter an http:// or https:// URL with a host." in invalid


def test_empty_key_field_keeps_the_key_and_clear_removes_it(staff):
  model = llm_model_factory(api_key=PLAIN, provider="ollama", provider_model_name="o/1")
  token = model.encrypted_api_key
  url = reverse("admin:llm_llmmodel_change", args=[model.pk])

  staff.post(url, _form(provider="ollama", provider_model_name="o/1", api_key=""))
  model.refresh_from_db()
  assert model.encrypted_api_key == token
  assert model.base_url == "http://localhost:11434/v1"

  staff.post(
    url, _form(provider="ollama", provider_model_name="o/1", api_key="", clear_api_key="on")
  )
  model.refresh_from_db()
  assert model.encrypted_api_key == ""


def test_form_errors(staff, settings):
  url = reverse("admin:llm_llmmodel_add")

  def errors(**fields) -> str:
    response = staff.post(url, _form(**fields))
    assert response.status_code == 200
    return response.content.decode()

  assert "This provider needs an API key." in errors(api_key="")
  assert "Either enter a new key or remove the stored one." in errors(clear_api_key="on")
  assert "params.temp is not a known parameter" in errors(params='{"temp": 1}')
  assert "This provider has no usual address: enter one." in errors(provider="openai_compatible")
  settings.LLM_MODEL_DECRYPT_KEY = ""
  assert "LLM_MODEL_DECRYPT_KEY is not set: the key can&#x27;t be stored." in errors()
  assert LLMModel.objects.count() == 0


def test_changelist_columns_and_usage_link(staff, settings):
  llm_model_factory(provider_model_name="with/key", fallback_order=1)
  llm_model_factory(provider_model_name="env/default", api_key="", fallback_order=2)
  settings.DEFAULT_LLM_MODEL = "env/default"

  response = staff.get(reverse(CHANGELIST))

  html = response.content.decode()
  assert response.status_code == 200
  rows = {obj.provider_model_name: obj for obj in response.context["cl"].result_list}
  assert rows["env/default"].effective_default is True
  assert rows["with/key"].effective_default is False
  admin = response.context["cl"].model_admin
  assert (admin.has_key(rows["with/key"]), admin.has_key(rows["env/default"])) == (True, False)
  assert reverse("admin:llm_llmmodel_usage") in html
  assert "Key set" in html


def test_changelist_without_models(staff):
  assert staff.get(reverse(CHANGELIST)).status_code == 200


def _action(staff, action: str, *models: LLMModel) -> list[str]:
  response = staff.post(
    reverse(CHANGELIST),
    {"action": action, "_selected_action": [m.pk for m in models]},
    follow=True,
  )
  return [str(message) for message in response.context["messages"]]


def test_make_default_action(staff, settings):
  a, b = llm_model_factory(is_default=True), llm_model_factory(active=False)

  messages = _action(staff, "make_default", b)

  a.refresh_from_db()
  b.refresh_from_db()
  assert (a.is_default, b.is_default, b.active) == (False, True, True)
  assert messages == [f"{b} is now the default."]

  settings.DEFAULT_LLM_MODEL = "env/model"
  assert _action(staff, "make_default", a) == [
    f"{a} is now the default.",
    "DEFAULT_LLM_MODEL=env/model in the environment still decides the default.",
  ]
  assert _action(staff, "make_default", a, b) == ["Select exactly one model."]


def test_flag_actions(staff):
  a, b = llm_model_factory(), llm_model_factory(active=False, customer_selectable=False)

  assert _action(staff, "deactivate", a, b) == ["1 model changed."]
  assert _action(staff, "activate", a, b) == ["2 models changed."]
  _action(staff, "disallow_selection", a)
  assert LLMModel.objects.filter(customer_selectable=True).count() == 0
  _action(staff, "allow_selection", a, b)
  assert LLMModel.objects.filter(customer_selectable=True, active=True).count() == 2


def test_file_rows_say_where_they_come_from(staff):
  model = llm_model_factory(source=LLMModel.Source.FILE)

  html = staff.get(reverse("admin:llm_llmmodel_change", args=[model.pk])).content.decode()

  assert "This model comes from the file: your edits stay until that source changes" in html


# --- usage page -----------------------------------------------------------------------------------
@pytest.fixture
def answers():
  anna = customer_factory(first_name="Anna")
  for model, tokens, cost in [
    ("gpt", (100, 20), "0.5"),
    ("gpt", (10, 5), "0.25"),
    ("llama", (7, 3), "0"),
  ]:
    message_factory(
      customer=anna,
      role=Message.Role.ASSISTANT,
      model_name=model,
      prompt_tokens=tokens[0],
      completion_tokens=tokens[1],
      cost=Decimal(cost),
      latency_ms=100,
    )
  return anna


def test_usage_page_shows_models_customers_and_days(staff, answers):
  response = staff.get(reverse("admin:llm_llmmodel_usage"))

  assert response.status_code == 200
  assert [(r["model_name"], r["total_tokens"]) for r in response.context["models"]] == [
    ("gpt", 135),
    ("llama", 10),
  ]
  assert [(r["customer"], r["total_tokens"]) for r in response.context["customers"]] == [
    (answers, 145)
  ]
  assert [r["total_tokens"] for r in response.context["days"]] == [145]
  assert response.context["totals"]["cost"] == Decimal("0.750000")
  assert "Anna" in response.content.decode()


def test_usage_page_filters_and_csv(staff, answers):
  today = timezone.localdate()
  query = {"date_from": today.isoformat(), "date_to": today.isoformat(), "model": "llama"}

  page = staff.get(reverse("admin:llm_llmmodel_usage"), query)
  assert [r["total_tokens"] for r in page.context["customers"]] == [10]

  export = staff.get(
    reverse("admin:llm_llmmodel_usage"), {**query, "format": "csv", "table": "days"}
  )
  rows = list(csv.reader(io.StringIO(export.content.decode())))
  assert export["Content-Type"] == "text/csv; charset=utf-8"
  assert rows == [
    [
      "day",
      "messages",
      "prompt_tokens",
      "completion_tokens",
      "total_tokens",
      "cost",
      "avg_latency_ms",
    ],
    [today.isoformat(), "1", "7", "3", "10", "0.000000", "100"],
  ]
  export = staff.get(reverse("admin:llm_llmmodel_usage"), {"format": "csv", "table": "zzz"})
  assert export.content.decode().splitlines()[1:] == [
    "gpt,2,110,25,135,0.750000,100",
    "llama,1,7,3,10,0.000000,100",
  ]


def test_usage_page_bad_range_falls_back_to_the_last_30_days(staff, answers):
  today = timezone.localdate()
  response = staff.get(
    reverse("admin:llm_llmmodel_usage"),
    {"date_from": today.isoformat(), "date_to": (today - dt.timedelta(days=3)).isoformat()},
  )

  assert "The start date is after the end date." in response.content.decode()
  assert response.context["date_from"] == today - dt.timedelta(days=29)


def test_usage_page_needs_view_permission(client):
  user = User.objects.create_user("clerk", password="pw-12345-long", is_staff=True)
  client.force_login(user)
  assert client.get(reverse("admin:llm_llmmodel_usage")).status_code == 403

  user.user_permissions.add(Permission.objects.get(codename="view_llmmodel"))
  assert client.get(reverse("admin:llm_llmmodel_usage")).status_code == 200


def test_unknown_provider_is_a_form_error(staff):
  response = staff.post(reverse("admin:llm_llmmodel_add"), _form(provider="zzz"))

  assert response.status_code == 200
  assert "Select a valid choice. zzz is not one of the available choices." in (
    response.content.decode()
  )


def test_form_saves_directly_with_commit():
  from llm.admin_forms import LLMModelForm

  form = LLMModelForm(data=_form(provider="ollama", api_key="", base_url="http://ollama:11434/v1"))
  assert form.is_valid(), form.errors

  model = form.save()

  assert (model.pk is not None, model.base_url, model.encrypted_api_key) == (
    True,
    "http://ollama:11434/v1",
    "",
  )


def test_usage_page_without_a_customer_admin(staff, answers, monkeypatch):
  from django.urls import NoReverseMatch

  def no_customer_admin(*args, **kwargs):
    raise NoReverseMatch("leads_customer_change")

  monkeypatch.setattr("llm.admin_usage.reverse", no_customer_admin)

  response = staff.get(reverse("admin:llm_llmmodel_usage"))

  assert response.context["customers"][0]["customer_url"] == ""
  assert "Anna" in response.content.decode()
