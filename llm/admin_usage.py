"""The admin's LLM usage page: tokens, cost and latency per model, per customer and per day."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from llm.models import LLMModel
from llm.selectors import usage_by_customer, usage_by_day, usage_by_model, usage_totals

DEFAULT_DAYS = 30


class UsageFilterForm(forms.Form):
  date_from = forms.DateField(
    label=_("from"), required=False, widget=forms.DateInput({"type": "date"})
  )
  date_to = forms.DateField(label=_("to"), required=False, widget=forms.DateInput({"type": "date"}))
  # Free text: usage of a model since removed from the registry is still worth a look.
  model = forms.CharField(
    label=_("model"),
    required=False,
    max_length=200,
    widget=forms.TextInput({"list": "llm-model-names", "placeholder": _("all models")}),
  )

  def clean(self) -> dict[str, Any]:
    data = super().clean()
    start, end = data.get("date_from"), data.get("date_to")
    if start and end and start > end:
      raise forms.ValidationError(_("The start date is after the end date."))
    return data


def _period(request: HttpRequest) -> tuple[UsageFilterForm, dt.date, dt.date, str | None]:
  today = timezone.localdate()
  initial = {"date_from": today - dt.timedelta(days=DEFAULT_DAYS - 1), "date_to": today}
  form = UsageFilterForm(request.GET or None, initial=initial)
  if form.is_bound and form.is_valid():
    data = form.cleaned_data
    return (
      form,
      data["date_from"] or initial["date_from"],
      data["date_to"] or today,
      data["model"] or None,
    )
  return form, initial["date_from"], initial["date_to"], None


def usage_view(request: HttpRequest) -> HttpResponse:
  """Usage per model, per customer and per day for a date range (CSV with ?format=csv&table=...)."""
  form, start, end, model_name = _period(request)
  tables = {
    "models": usage_by_model(date_from=start, date_to=end),
    "customers": usage_by_customer(date_from=start, date_to=end, model_name=model_name, limit=50),
    "days": usage_by_day(date_from=start, date_to=end, model_name=model_name),
  }
  for row in tables["customers"]:
    row["customer_url"] = _customer_url(row["customer_pk"])
  if request.GET.get("format") == "csv":
    return _csv(tables, request.GET.get("table", "models"), start, end)
  context = {
    **admin.site.each_context(request),
    "title": _("LLM usage"),
    "opts": LLMModel._meta,
    "form": form,
    "date_from": start,
    "date_to": end,
    "model_name": model_name,
    "model_names": LLMModel.objects.values_list("provider_model_name", flat=True),
    "totals": usage_totals(date_from=start, date_to=end),
    **tables,
  }
  return TemplateResponse(request, "admin/llm/usage.html", context)


def _customer_url(pk: int) -> str:
  try:
    return reverse("admin:leads_customer_change", args=[pk])
  except NoReverseMatch:  # the customer admin isn't registered
    return ""


_CSV_COLUMNS = [
  "messages",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "cost",
  "avg_latency_ms",
]


def _csv(tables: dict[str, list[dict]], table: str, start: dt.date, end: dt.date) -> HttpResponse:
  key = {"models": "model_name", "customers": "customer", "days": "day"}.get(table, "model_name")
  rows = tables.get(table, tables["models"])
  response = HttpResponse(content_type="text/csv; charset=utf-8")
  name = f"llm-usage-{table if table in tables else 'models'}-{start}-{end}.csv"
  response["Content-Disposition"] = f'attachment; filename="{name}"'
  writer = csv.writer(response)
  writer.writerow([key, *_CSV_COLUMNS])
  for row in rows:
    writer.writerow([row.get(key) or "", *(row[column] for column in _CSV_COLUMNS)])
  return response
