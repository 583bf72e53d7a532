import datetime as dt
import logging
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from llm.errors import LLMModelNotSelectable
from llm.models import LLMModel
from llm.schema import rows_validate
from llm.services import (
  customer_budget_exceeded,
  customer_model_reset,
  customer_model_set,
  model_make_default,
  models_set_flag,
  registry_sync,
)
from memory.models import Message
from tests.factories import customer_factory, llm_model_factory, message_factory
from tests.llm.conftest import registry_row

pytestmark = pytest.mark.django_db


def _rows(*rows):
  return rows_validate({"models": list(rows)}, origin="test")


def test_registry_sync_creates_updates_and_deactivates():
  # given
  first = registry_sync(rows=_rows(registry_row("s/a"), registry_row("s/b")), source="file")
  admin_row = llm_model_factory(provider_model_name="admin/row")

  # when s/a changes, s/b disappears, s/c appears
  second = registry_sync(
    rows=_rows(registry_row("s/a", fallback_order=3), registry_row("s/c")), source="file"
  )

  # then
  assert first == {"created": ["s/a", "s/b"], "updated": [], "deactivated": [], "unchanged": []}
  assert second == {"created": ["s/c"], "updated": ["s/a"], "deactivated": ["s/b"], "unchanged": []}
  rows = {m.provider_model_name: m for m in LLMModel.objects.all()}
  assert rows["s/a"].fallback_order == 3
  assert (rows["s/b"].active, rows["s/b"].source_hash) == (False, "")
  assert rows["admin/row"].active is True
  assert rows["s/c"].source == "file"
  admin_row.refresh_from_db()
  assert admin_row.source == "db"


def test_admin_edit_survives_until_the_source_row_changes():
  # given a synced row the admin then deactivated
  rows = _rows(registry_row("s/a"))
  registry_sync(rows=rows, source="file")
  LLMModel.objects.filter(provider_model_name="s/a").update(active=False)

  # when the same file is synced again, the edit stays
  assert registry_sync(rows=rows, source="file")["unchanged"] == ["s/a"]
  assert LLMModel.objects.get(provider_model_name="s/a").active is False

  # when the file changes that row, the file wins
  registry_sync(rows=_rows(registry_row("s/a", model="other")), source="file")
  row = LLMModel.objects.get(provider_model_name="s/a")
  assert (row.active, row.model) == (True, "other")


def test_a_source_row_takes_over_an_admin_row_with_the_same_name():
  llm_model_factory(provider_model_name="same/name", model="admin-model")

  result = registry_sync(rows=_rows(registry_row("same/name")), source="url")

  assert result["updated"] == ["same/name"]
  row = LLMModel.objects.get(provider_model_name="same/name")
  assert (row.source, row.model) == ("url", "fake-model")


def test_removed_then_readded_row_is_active_again():
  registry_sync(rows=_rows(registry_row("s/a")), source="file")
  registry_sync(rows=[], source="file")
  assert LLMModel.objects.get().active is False

  result = registry_sync(rows=_rows(registry_row("s/a")), source="file")

  assert result["updated"] == ["s/a"]
  assert LLMModel.objects.get().active is True


def test_registry_sync_retries_after_a_concurrent_insert(monkeypatch):
  from llm import services

  calls = []
  real = services._registry_sync

  def flaky(rows, source):
    calls.append(1)
    if len(calls) == 1:
      raise IntegrityError("duplicate key")
    return real(rows, source)

  monkeypatch.setattr(services, "_registry_sync", flaky)

  assert registry_sync(rows=_rows(registry_row("s/a")), source="file")["created"] == ["s/a"]
  assert len(calls) == 2


# --- the customer's choice ---------------------------------------------------------------------
def test_customer_model_set_stores_the_choice(caplog):
  model = llm_model_factory(provider_model_name="pick/me")
  customer = customer_factory()

  with caplog.at_level(logging.INFO, logger="llm.services"):
    assert customer_model_set(customer=customer, provider_model_name="pick/me") == model

  customer.refresh_from_db()
  assert customer.selected_model == model
  assert f"Customer {customer.pk} switched to model pick/me" in caplog.text


def test_customer_model_set_refuses_unknown_inactive_and_staff_only_models():
  llm_model_factory(provider_model_name="ok/b", fallback_order=2)
  llm_model_factory(provider_model_name="ok/a", fallback_order=1)
  llm_model_factory(provider_model_name="off/x", active=False)
  llm_model_factory(provider_model_name="staff/y", customer_selectable=False)
  customer = customer_factory()

  for name in ["nope", "off/x", "staff/y"]:
    with pytest.raises(LLMModelNotSelectable) as caught:
      customer_model_set(customer=customer, provider_model_name=name)
    assert caught.value.valid == ["ok/a", "ok/b"]
    assert str(caught.value) == f"Model {name!r} can't be selected; valid choices: ok/a, ok/b."
  customer.refresh_from_db()
  assert customer.selected_model is None


def test_customer_model_reset():
  model = llm_model_factory()
  customer = customer_factory(selected_model=model)

  customer_model_reset(customer=customer)
  customer_model_reset(customer=customer)  # idempotent

  customer.refresh_from_db()
  assert customer.selected_model is None


# --- staff toggles -----------------------------------------------------------------------------
def test_model_make_default_is_unique_and_activates(settings, caplog):
  old = llm_model_factory(is_default=True)
  new = llm_model_factory(active=False, provider_model_name="new/default")
  settings.DEFAULT_LLM_MODEL = "env/model"

  with caplog.at_level(logging.INFO, logger="llm.services"):
    model_make_default(model=new)

  old.refresh_from_db()
  new.refresh_from_db()
  assert (old.is_default, new.is_default, new.active) == (False, True, True)
  assert "DEFAULT_LLM_MODEL=env/model overrides the admin's default new/default" in caplog.text


def test_models_set_flag_counts_changes():
  a, b = llm_model_factory(active=True), llm_model_factory(active=False)

  assert models_set_flag(models=[a, b], field="active", value=False) == 1
  assert models_set_flag(models=[a, b], field="customer_selectable", value=False) == 2
  assert LLMModel.objects.filter(active=False, customer_selectable=False).count() == 2
  with pytest.raises(ValueError, match="can't be toggled"):
    models_set_flag(models=[a], field="is_default", value=True)


# --- budget -------------------------------------------------------------------------------------
def _answer(customer, tokens: tuple[int, int], *, days_ago: int = 0) -> Message:
  message = message_factory(
    customer=customer,
    role=Message.Role.ASSISTANT,
    model_name="m",
    prompt_tokens=tokens[0],
    completion_tokens=tokens[1],
    cost=Decimal("0.01"),
  )
  if days_ago:
    Message.objects.filter(pk=message.pk).update(
      created_at=timezone.now() - dt.timedelta(days=days_ago)
    )
  return message


def test_budget_off_by_default():
  customer = customer_factory()
  _answer(customer, (10**6, 10**6))

  assert customer_budget_exceeded(customer) is False


def test_budget_counts_todays_tokens_only(settings, caplog):
  # given
  settings.DAILY_TOKEN_BUDGET = 100
  customer, other = customer_factory(), customer_factory()
  _answer(customer, (500, 500), days_ago=2)
  _answer(other, (500, 500))
  _answer(customer, (60, 39))

  # then 99 tokens today: still fine
  assert customer_budget_exceeded(customer) is False

  # when one more token is used
  _answer(customer, (1, 0))
  with caplog.at_level(logging.INFO, logger="llm.services"):
    assert customer_budget_exceeded(customer=customer) is True
  assert f"Customer {customer.pk} reached the daily token budget (100/100)" in caplog.text
