"""Reads for the LLM app: models customers may pick, the default, token usage and costs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from leads.models import Customer
from llm.models import LLMModel
from memory.models import Message


def model_list_active() -> list[LLMModel]:
  """Active models in fallback order (cached rows: read-only)."""
  from llm.registry import rows_load

  return [model for model in rows_load() if model.active]


def model_list_selectable() -> list[LLMModel]:
  """Models customers may pick (/model): active and open to customers, in fallback order."""
  return [model for model in model_list_active() if model.customer_selectable]


def model_get_default() -> LLMModel | None:
  """DEFAULT_LLM_MODEL if active, else the admin's default, else the first active model."""
  from llm.registry import default_pick

  return default_pick(model_list_active())


def model_get(*, provider_model_name: str) -> LLMModel | None:
  return LLMModel.objects.filter(provider_model_name=provider_model_name).first()


def _customer_choice(customer: Customer) -> LLMModel | None:
  """The customer's chosen model as it is now (the cached row: no query per message)."""
  from llm.registry import rows_load

  if customer.selected_model_id is None:
    return None
  return next((m for m in rows_load() if m.pk == customer.selected_model_id), None)


def customer_model_name(*, customer: Customer) -> str | None:
  """The customer's chosen model if it is still active and selectable (else None: the default)."""
  model = _customer_choice(customer)
  if model is None or not (model.active and model.customer_selectable):
    return None
  return model.provider_model_name


def customer_model_current(*, customer: Customer) -> LLMModel | None:
  """The model that answers this customer now: their valid choice, else the default."""
  model = _customer_choice(customer)
  if model is not None and model.active and model.customer_selectable:
    return model
  return model_get_default()


# --- usage --------------------------------------------------------------------------------------
def _today_start() -> dt.datetime:
  now = timezone.localtime()
  return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _usage_messages() -> QuerySet[Message]:
  return Message.objects.filter(role=Message.Role.ASSISTANT)


def customer_tokens_today(*, customer: Customer) -> int:
  """Prompt + completion tokens of the customer's assistant replies since local midnight."""
  totals = _usage_messages().filter(customer=customer, created_at__gte=_today_start())
  agg = totals.aggregate(
    prompt=Coalesce(Sum("prompt_tokens"), 0), completion=Coalesce(Sum("completion_tokens"), 0)
  )
  return agg["prompt"] + agg["completion"]


def _usage_filtered(
  date_from: dt.date | None, date_to: dt.date | None, model_name: str | None
) -> QuerySet[Message]:
  messages = _usage_messages().exclude(Q(model_name="") & Q(prompt_tokens__isnull=True))
  tz = timezone.get_current_timezone()
  if date_from is not None:
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    messages = messages.filter(created_at__gte=start)
  if date_to is not None:
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    messages = messages.filter(created_at__lt=end)
  if model_name:
    messages = messages.filter(model_name=model_name)
  return messages


# Aggregate aliases can't reuse field names (Sum("prompt_tokens") AS prompt_tokens breaks the
# total), so they get a prefix and `_tidy` renames them.
_TOTALS = {
  "u_messages": Count("id"),
  "u_prompt": Coalesce(Sum("prompt_tokens"), 0),
  "u_completion": Coalesce(Sum("completion_tokens"), 0),
  "u_total": Coalesce(Sum("prompt_tokens"), 0) + Coalesce(Sum("completion_tokens"), 0),
  "u_cost": Coalesce(Sum("cost"), Decimal("0")),
  "u_latency": Avg("latency_ms"),
}


def _rows(
  queryset: QuerySet, group: list[str], order: list[str], limit: int | None = None
) -> list[dict[str, Any]]:
  rows = queryset.values(*group).annotate(**_TOTALS).order_by(*order)[:limit]
  return [_tidy(row) for row in rows]


def _tidy(row: dict[str, Any]) -> dict[str, Any]:
  result = {key: value for key, value in row.items() if not key.startswith("u_")}
  latency = row["u_latency"]
  result.update(
    messages=row["u_messages"],
    prompt_tokens=row["u_prompt"],
    completion_tokens=row["u_completion"],
    total_tokens=row["u_total"],
    cost=Decimal(row["u_cost"]).quantize(Decimal("0.000001")),
    avg_latency_ms=round(latency) if latency is not None else None,
  )
  return result


def usage_by_model(
  *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> list[dict[str, Any]]:
  """Per model: messages, prompt/completion/total tokens, cost, average latency; costliest first."""
  messages = _usage_filtered(date_from, date_to, None)
  return _rows(messages, ["model_name"], ["-u_cost", "-u_messages", "model_name"])


def usage_by_customer(
  *,
  date_from: dt.date | None = None,
  date_to: dt.date | None = None,
  model_name: str | None = None,
  limit: int = 100,
) -> list[dict[str, Any]]:
  """Per customer (id and name): the same totals, biggest token users first."""
  messages = _usage_filtered(date_from, date_to, model_name).filter(customer__isnull=False)
  rows = _rows(
    messages.annotate(customer_pk=F("customer_id")),
    ["customer_pk"],
    ["-u_total", "customer_pk"],
    limit,
  )
  customers = Customer.objects.in_bulk([row["customer_pk"] for row in rows])
  for row in rows:
    row["customer"] = customers.get(row["customer_pk"])
  return rows


def usage_by_day(
  *,
  date_from: dt.date | None = None,
  date_to: dt.date | None = None,
  model_name: str | None = None,
) -> list[dict[str, Any]]:
  """Per local calendar day: the same totals, oldest day first."""
  messages = _usage_filtered(date_from, date_to, model_name)
  day = TruncDate("created_at", tzinfo=timezone.get_current_timezone())
  return _rows(messages.annotate(day=day), ["day"], ["day"])


def usage_totals(
  *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, Any]:
  """Totals over the period (the usage page's summary line)."""
  return _tidy(_usage_filtered(date_from, date_to, None).aggregate(**_TOTALS))
