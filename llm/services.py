"""Writes for the LLM app: registry sync, the customer's model choice, admin toggles, budget check."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from leads.models import Customer
from llm.errors import LLMModelNotSelectable
from llm.models import LLMModel
from llm.schema import row_hash
from llm.selectors import customer_tokens_today, model_list_selectable

logger = logging.getLogger(__name__)
_sync_lock = threading.Lock()
SYNCED_SOURCES = (LLMModel.Source.FILE, LLMModel.Source.URL)


def registry_sync(*, rows: list[dict[str, Any]], source: str) -> dict[str, list[str]]:
  """Copy validated file/URL rows into the database; returns names created/updated/deactivated.

  A row whose source content is unchanged since the last sync is left alone, so admin edits to it
  survive until the file/URL changes that row. Synced rows missing from the source are deactivated
  (kept for usage history); rows created in the admin are never touched.
  """
  with _sync_lock:
    try:
      return _registry_sync(rows, source)
    except IntegrityError:
      # Another process synced the same new row at the same moment: its result is ours.
      return _registry_sync(rows, source)


def _registry_sync(rows: list[dict[str, Any]], source: str) -> dict[str, list[str]]:
  result: dict[str, list[str]] = {"created": [], "updated": [], "deactivated": [], "unchanged": []}
  with transaction.atomic():
    existing = {m.provider_model_name: m for m in LLMModel.objects.select_for_update()}
    for row in rows:
      name, digest = row["provider_model_name"], row_hash(row)
      model = existing.get(name)
      if model is None:
        LLMModel.objects.create(**row, source=source, source_hash=digest)
        result["created"].append(name)
      elif model.source == source and model.source_hash == digest:
        result["unchanged"].append(name)
      else:
        for field, value in row.items():
          setattr(model, field, value)
        model.source, model.source_hash = source, digest
        model.save()
        result["updated"].append(name)
    names = {row["provider_model_name"] for row in rows}
    for name, model in existing.items():
      if model.source in SYNCED_SOURCES and name not in names and model.active:
        model.active, model.source_hash = False, ""
        model.save(update_fields=["active", "source_hash", "updated_at"])
        result["deactivated"].append(name)
  return result


# --- the customer's choice ---------------------------------------------------------------------
def customer_model_set(*, customer: Customer, provider_model_name: str) -> LLMModel:
  """Store the customer's model choice; LLMModelNotSelectable lists the valid names otherwise."""
  choices = model_list_selectable()
  model = next((m for m in choices if m.provider_model_name == provider_model_name), None)
  if model is None:
    raise LLMModelNotSelectable(provider_model_name, valid=[m.provider_model_name for m in choices])
  if customer.selected_model_id != model.pk:
    customer.selected_model = model
    customer.save(update_fields=["selected_model", "updated_at"])
    logger.info("Customer %s switched to model %s", customer.pk, model.provider_model_name)
  return model


def customer_model_reset(*, customer: Customer) -> None:
  """Forget the customer's choice: the default model answers again."""
  if customer.selected_model_id is not None:
    customer.selected_model = None
    customer.save(update_fields=["selected_model", "updated_at"])
    logger.info("Customer %s switched back to the default model", customer.pk)


# --- staff toggles (admin actions) ---------------------------------------------------------------
@transaction.atomic
def model_make_default(*, model: LLMModel) -> LLMModel:
  """Mark `model` as the admin's default (DEFAULT_LLM_MODEL, when set, still wins)."""
  LLMModel.objects.filter(is_default=True).exclude(pk=model.pk).update(is_default=False)
  model.is_default = True
  if not model.active:
    model.active = True
  model.save(update_fields=["is_default", "active", "updated_at"])
  logger.info("Default LLM model set to %s in the admin", model.provider_model_name)
  if (wanted := settings.DEFAULT_LLM_MODEL) and wanted != model.provider_model_name:
    logger.warning(
      "DEFAULT_LLM_MODEL=%s overrides the admin's default %s",
      wanted,
      model.provider_model_name,
    )
  return model


def models_set_flag(*, models: list[LLMModel], field: str, value: bool) -> int:
  """Set `active` or `customer_selectable` on several models; returns how many changed."""
  if field not in {"active", "customer_selectable"}:
    raise ValueError(f"{field} can't be toggled")
  changed = 0
  for model in models:
    if getattr(model, field) != value:
      setattr(model, field, value)
      model.save(update_fields=[field, "updated_at"])
      changed += 1
      logger.info("LLM model %s: %s=%s", model.provider_model_name, field, value)
  return changed


# --- budget -------------------------------------------------------------------------------------
def customer_budget_exceeded(customer: Customer) -> bool:
  """Whether the customer used DAILY_TOKEN_BUDGET tokens today (always False when it is 0)."""
  budget = settings.DAILY_TOKEN_BUDGET
  if budget <= 0:
    return False
  used = customer_tokens_today(customer=customer)
  if used >= budget:
    logger.info("Customer %s reached the daily token budget (%s/%s)", customer.pk, used, budget)
    return True
  return False
