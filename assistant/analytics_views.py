"""The admin's analytics page (charts + tables) and a CSV download of each table."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assistant import analytics
from assistant.admin_site import PERM_VIEW_ANALYTICS
from assistant.analytics import Period

DEFAULT_DAYS = 30
MAX_DAYS = 366
PRESETS = (7, 30, 90, 365)


class PeriodForm(forms.Form):
  date_from = forms.DateField(label=_("from"), widget=forms.DateInput(attrs={"type": "date"}))
  date_to = forms.DateField(label=_("to"), widget=forms.DateInput(attrs={"type": "date"}))

  def clean(self) -> dict[str, Any]:
    data = super().clean()
    start, end = data.get("date_from"), data.get("date_to")
    if start and end and start > end:
      raise forms.ValidationError(_("The start date is after the end date."))
    if start and end and (end - start).days >= MAX_DAYS:
      raise forms.ValidationError(_("Choose at most %(days)d days.") % {"days": MAX_DAYS})
    return data


def period_from(request: HttpRequest) -> tuple[PeriodForm, Period]:
  """The period asked for in the query string (?date_from=&date_to= or ?days=), else 30 days."""
  days = request.GET.get("days", "")
  default = Period.last_days(
    int(days) if days.isdigit() and 0 < int(days) <= MAX_DAYS else DEFAULT_DAYS
  )
  form = PeriodForm(
    request.GET if "date_from" in request.GET else None,
    initial={"date_from": default.start, "date_to": default.end},
  )
  if form.is_bound and form.is_valid():
    return form, Period(form.cleaned_data["date_from"], form.cleaned_data["date_to"])
  return form, default


@dataclass(frozen=True)
class Table:
  title: Any
  columns: list[tuple[str, Any]]
  rows: Callable[[Period], list[dict[str, Any]]]


TABLES: dict[str, Table] = {
  "new": Table(
    _("New customers and leads per day"),
    [("day", _("day")), ("customers", _("customers")), ("leads", _("leads"))],
    lambda period: analytics.new_per_day(period=period),
  ),
  "funnel": Table(
    _("Funnel"),
    [("label", _("stage")), ("leads", _("leads")), ("share", _("share of leads, %"))],
    lambda period: analytics.funnel(period=period),
  ),
  "services": Table(
    _("Conversion by service"),
    [
      ("service", _("service")),
      ("leads", _("leads")),
      ("won", _("won")),
      ("conversion", _("won, %")),
    ],
    lambda period: analytics.conversion_by_service(period=period),
  ),
  "messages": Table(
    _("Messages per day"),
    [
      ("day", _("day")),
      ("customer", _("from customers")),
      ("assistant", _("from the assistant")),
      ("operator", _("from operators")),
    ],
    lambda period: analytics.messages_per_day(period=period),
  ),
  "latency": Table(
    _("Answer latency per day"),
    [("day", _("day")), ("answers", _("answers")), ("p50", _("p50, ms")), ("p95", _("p95, ms"))],
    lambda period: analytics.latency_per_day(period=period),
  ),
  "feedback": Table(
    _("Ratings per day"),
    [("day", _("day")), ("up", "👍"), ("down", "👎")],
    lambda period: analytics.feedback_per_day(period=period),
  ),
  "worst": Table(
    _("Worst-rated answers"),
    [("question", _("question")), ("answer", _("answer")), ("down", "👎"), ("up", "👍")],
    lambda period: analytics.worst_answers(period=period),
  ),
  "unanswered": Table(
    _("Unanswered questions"),
    [
      ("time", _("time")),
      ("question", _("question")),
      ("answer", _("answer")),
      ("reason_label", _("reason")),
    ],
    lambda period: _with_reasons(analytics.unanswered(period=period)),
  ),
  "usage": Table(
    _("LLM usage and cost per model"),
    [
      ("model_name", _("model")),
      ("messages", _("answers")),
      ("prompt_tokens", _("prompt tokens")),
      ("completion_tokens", _("completion tokens")),
      ("cost", _("cost")),
      ("avg_latency_ms", _("average latency, ms")),
    ],
    lambda period: analytics.llm_usage(period=period),
  ),
}


REASONS = {"fallback": _("fallback answer"), "down": "👎"}


def _with_reasons(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
  return [{**row, "reason_label": str(REASONS[row["reason"]])} for row in rows]


def _check(request: HttpRequest) -> None:
  if not request.user.has_perm(PERM_VIEW_ANALYTICS):
    raise PermissionDenied


def analytics_view(request: HttpRequest) -> HttpResponse:
  """Charts and tables for the chosen period."""
  _check(request)
  form, period = period_from(request)
  data = {name: table.rows(period) for name, table in TABLES.items()}
  feedback = analytics.feedback_totals(period=period)
  summary = analytics.summary(
    new=data["new"],
    funnel_rows=data["funnel"],
    messages=data["messages"],
    feedback=feedback,
    usage=data["usage"],
  )
  query = f"date_from={period.start.isoformat()}&date_to={period.end.isoformat()}"
  context = {
    **admin.site.each_context(request),
    "title": _("Analytics"),
    "form": form,
    "period": period,
    "presets": PRESETS,
    "summary": summary,
    "tables": {
      name: _table_context(name, table, data[name], query) for name, table in TABLES.items()
    },
    "charts": _charts(data),
  }
  return TemplateResponse(request, "admin/analytics.html", context)


def _table_context(name: str, table: Table, rows: list[dict], query: str) -> dict[str, Any]:
  return {
    "title": table.title,
    "headers": [label for _key, label in table.columns],
    "rows": [[row.get(key) for key, _label in table.columns] for row in rows],
    "records": rows,
    "csv_url": reverse("admin:analytics_csv", args=[name]) + "?" + query,
  }


def _charts(data: dict[str, list[dict]]) -> dict[str, Any]:
  """Series for Chart.js, as plain JSON-able lists."""

  def series(name: str, *keys: str) -> dict[str, list]:
    rows = data[name]
    return {key: [_plain(row[key]) for row in rows] for key in keys}

  return {
    "new": series("new", "day", "customers", "leads"),
    "funnel": series("funnel", "label", "leads"),
    "services": series("services", "service", "leads", "won"),
    "messages": series("messages", "day", "customer", "assistant", "operator"),
    "latency": series("latency", "day", "p50", "p95"),
    "feedback": series("feedback", "day", "up", "down"),
    "usage": series("usage", "model_name", "cost", "prompt_tokens", "completion_tokens"),
    "labels": {
      "customers": str(_("new customers")),
      "leads": str(_("new leads")),
      "won": str(_("won")),
      "customer": str(_("from customers")),
      "assistant": str(_("from the assistant")),
      "operator": str(_("from operators")),
      "cost": str(_("cost")),
      "prompt_tokens": str(_("prompt tokens")),
      "completion_tokens": str(_("completion tokens")),
    },
  }


def _plain(value: Any) -> Any:
  if isinstance(value, dt.date):
    return value.isoformat()
  if value is None or isinstance(value, int | float | str):
    return value
  return float(value)


def analytics_csv_view(request: HttpRequest, table: str) -> HttpResponse:
  """One analytics table as CSV for the same period."""
  _check(request)
  if table not in TABLES:
    raise Http404(_("Unknown table."))
  _form, period = period_from(request)
  spec = TABLES[table]
  response = HttpResponse(content_type="text/csv; charset=utf-8")
  filename = f"{table}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
  response["Content-Disposition"] = f'attachment; filename="{filename}"'
  response.write("\ufeff")
  writer = csv.writer(response)
  writer.writerow([str(label) for _key, label in spec.columns])
  for row in spec.rows(period):
    writer.writerow([_csv_value(row.get(key)) for key, _label in spec.columns])
  return response


def _csv_value(value: Any) -> Any:
  if isinstance(value, dt.datetime):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
  if isinstance(value, dt.date):
    return value.isoformat()
  return "" if value is None else value
