"""Analytics selectors: every number on the admin's analytics page, aggregated in SQL.

Each selector takes a `Period` (local calendar days, both ends included) and returns plain rows
(dicts) ready for a chart, a table and a CSV file. Per-day series include days with no activity
as zeros. Works on SQLite and PostgreSQL; see docs/admin.md for what each number means.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
  Aggregate,
  Case,
  CharField,
  Count,
  F,
  FloatField,
  Func,
  Q,
  QuerySet,
  Value,
  When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from leads.admin_display import question_subquery
from leads.models import Customer, Feedback, Lead
from memory.models import Message

LATENCY_BUCKET_MS = 10  # SQLite's percentile resolution (PostgreSQL computes them exactly)
FUNNEL = [Lead.Stage.NEW, Lead.Stage.QUALIFIED, Lead.Stage.CONTACTED, Lead.Stage.WON]


@dataclass(frozen=True)
class Period:
  """Local calendar days `start`..`end`, both included."""

  start: dt.date
  end: dt.date

  @classmethod
  def last_days(cls, days: int) -> Period:
    today = timezone.localdate()
    return cls(today - dt.timedelta(days=days - 1), today)

  @property
  def bounds(self) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)

  def days(self) -> list[dt.date]:
    return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]

  def filter(self, queryset: QuerySet, field: str = "created_at") -> QuerySet:
    start, end = self.bounds
    return queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end})


def _day() -> TruncDate:
  return TruncDate("created_at", tzinfo=timezone.get_current_timezone())


def _offsets(period: Period) -> list[tuple[dt.datetime | None, int]]:
  """The zone's UTC offsets (minutes) over the period: [(valid before this instant, offset)].

  The last entry (instant None) holds to the end. DST changes are found day by day, then to
  the minute by bisection.
  """
  zone = timezone.get_current_timezone()
  start, end = period.bounds

  def offset(moment: dt.datetime) -> int:
    return int(moment.astimezone(zone).utcoffset().total_seconds() // 60)

  segments: list[tuple[dt.datetime | None, int]] = []
  moment, current = start, offset(start)
  while moment < end:
    following = moment + dt.timedelta(days=1)
    if offset(following) != current:
      low, high = 0, 24 * 60  # minutes after `moment`: the change lies in (low, high]
      while high - low > 1:
        middle = (low + high) // 2
        low, high = (
          (middle, high)
          if offset(moment + dt.timedelta(minutes=middle)) == current
          else (low, middle)
        )
      change = moment + dt.timedelta(minutes=high)
      segments.append((change, current))
      current = offset(change)
    moment = following
  return [*segments, (None, current)]


def _sqlite_day(period: Period) -> Func:
  """date(created_at, '+180 minutes'): the local day computed by SQLite itself.

  Django's TruncDate on SQLite calls back into Python for every row (~4 µs); this is native,
  with a CASE per DST change inside the period.
  """
  segments = _offsets(period)
  shift: Any = Value(f"{segments[-1][1]:+d} minutes")
  if len(segments) > 1:
    whens = [
      When(created_at__lt=until, then=Value(f"{minutes:+d} minutes"))
      for until, minutes in segments[:-1]
    ]
    shift = Case(*whens, default=shift, output_field=CharField())
  return Func(F("created_at"), shift, function="date", output_field=CharField())


def _grouped(
  queryset: QuerySet, period: Period, keys: list[Any], **counts: Any
) -> dict[tuple, dict]:
  """Counts per (local day, *keys) in SQL: {(day, *key values): {count name: n}}."""
  sqlite = connection.vendor == "sqlite"
  day = _sqlite_day(period) if sqlite else _day()
  names = {f"k{index}": key for index, key in enumerate(keys)}
  rows = (
    period.filter(queryset)
    .annotate(bucket=day, **names)
    .values("bucket", *names)
    .annotate(**counts)
    .order_by()
  )
  return {
    (
      dt.date.fromisoformat(row["bucket"]) if sqlite else row["bucket"],
      *(row[name] for name in names),
    ): {name: row[name] for name in counts}
    for row in rows
  }


def _per_day(queryset: QuerySet, period: Period, **counts: Any) -> dict[dt.date, dict]:
  return {key[0]: totals for key, totals in _grouped(queryset, period, [], **counts).items()}


def new_per_day(*, period: Period) -> list[dict[str, Any]]:
  """New customers and new leads per day."""
  customers = _per_day(Customer.objects.all(), period, n=Count("id"))
  leads = _per_day(Lead.objects.all(), period, n=Count("id"))
  return [
    {
      "day": day,
      "customers": customers.get(day, {}).get("n", 0),
      "leads": leads.get(day, {}).get("n", 0),
    }
    for day in period.days()
  ]


def funnel(*, period: Period) -> list[dict[str, Any]]:
  """Leads created in the period that reached each stage (a won lead passed every stage)."""
  counts = dict(
    period.filter(Lead.objects.all()).values_list("stage").annotate(n=Count("id")).order_by()
  )
  total = sum(counts.values())
  rows = []
  for index, stage in enumerate(FUNNEL):
    reached = sum(counts.get(later, 0) for later in FUNNEL[index:])
    rows.append({"stage": stage.value, "label": str(stage.label), "leads": reached})
  rows.append(
    {"stage": "lost", "label": str(Lead.Stage.LOST.label), "leads": counts.get("lost", 0)}
  )
  for row in rows:
    row["share"] = _percent(row["leads"], total)
  return rows


def conversion_by_service(*, period: Period) -> list[dict[str, Any]]:
  """Per service of interest: leads, won leads and the share won; most leads first."""
  rows = (
    period.filter(Lead.objects.all())
    .values(service_name=F("service__name"))
    .annotate(leads=Count("id"), won=Count("id", filter=Q(stage=Lead.Stage.WON)))
    .order_by()
  )
  # Sorted here: databases disagree on where NULL (no service) sorts.
  rows = sorted(
    rows, key=lambda r: (-r["leads"], r["service_name"] is None, r["service_name"] or "")
  )
  return [
    {
      "service": row["service_name"] or "—",
      "leads": row["leads"],
      "won": row["won"],
      "conversion": _percent(row["won"], row["leads"]),
    }
    for row in rows
  ]


def messages_per_day(*, period: Period) -> list[dict[str, Any]]:
  """Messages per day: from customers, from the assistant, from operators."""
  by_day = _per_day(
    Message.objects.exclude(role=Message.Role.SYSTEM),
    period,
    customer=Count("id", filter=Q(role=Message.Role.USER)),
    assistant=Count("id", filter=Q(role=Message.Role.ASSISTANT)),
    operator=Count("id", filter=Q(role=Message.Role.OPERATOR)),
  )
  empty = {"customer": 0, "assistant": 0, "operator": 0}
  return [
    {"day": day, **{key: by_day.get(day, empty)[key] for key in empty}} for day in period.days()
  ]


class PercentileDisc(Aggregate):
  """PostgreSQL's percentile_disc(fraction) WITHIN GROUP (ORDER BY expression)."""

  function = "percentile_disc"
  template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
  output_field = FloatField()

  def __init__(self, expression: str, fraction: float) -> None:
    super().__init__(expression, fraction=float(fraction))


def _answers(period: Period) -> QuerySet:
  return period.filter(
    Message.objects.filter(role=Message.Role.ASSISTANT, latency_ms__isnull=False)
  )


def latency_per_day(*, period: Period) -> list[dict[str, Any]]:
  """Answer latency per day: answers, p50 and p95 in ms (nearest-rank percentiles)."""
  if connection.vendor == "postgresql":
    rows = _answers(period).annotate(day=_day()).values("day").order_by()
    rows = rows.annotate(
      answers=Count("id"),
      p50=PercentileDisc("latency_ms", 0.5),
      p95=PercentileDisc("latency_ms", 0.95),
    )
    by_day = {row["day"]: row for row in rows}
  else:
    by_day = _percentiles_from_histogram(period)
  return [
    {
      "day": day,
      "answers": by_day.get(day, {}).get("answers", 0),
      "p50": _int_or_none(by_day.get(day, {}).get("p50")),
      "p95": _int_or_none(by_day.get(day, {}).get("p95")),
    }
    for day in period.days()
  ]


def _percentiles_from_histogram(period: Period) -> dict[dt.date, dict]:
  """SQLite has no percentile aggregate: count answers per (day, latency) in SQL, rank here."""
  histogram: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)
  answers = Message.objects.filter(role=Message.Role.ASSISTANT, latency_ms__isnull=False)
  # 10 ms buckets keep the histogram small over long periods; percentiles are exact to 10 ms.
  bucket = F("latency_ms") / LATENCY_BUCKET_MS
  counted = _grouped(answers, period, [bucket], n=Count("id"))
  for (day, latency), totals in sorted(counted.items()):
    histogram[day].append((latency * LATENCY_BUCKET_MS, totals["n"]))
  return {
    day: {
      "answers": sum(n for _latency, n in buckets),
      "p50": _nearest_rank(buckets, 0.5),
      "p95": _nearest_rank(buckets, 0.95),
    }
    for day, buckets in histogram.items()
  }


def _nearest_rank(buckets: list[tuple[int, int]], fraction: float) -> int:
  total = sum(n for _value, n in buckets)
  rank = max(1, math.ceil(fraction * total))
  seen = 0
  for value, n in buckets:
    seen += n
    if seen >= rank:
      return value
  raise ValueError("empty histogram")  # pragma: no cover - callers pass non-empty buckets


def feedback_per_day(*, period: Period) -> list[dict[str, Any]]:
  """👍 and 👎 per day."""
  by_day = _per_day(
    Feedback.objects.all(),
    period,
    up=Count("id", filter=Q(rating=Feedback.Rating.UP)),
    down=Count("id", filter=Q(rating=Feedback.Rating.DOWN)),
  )
  return [
    {"day": day, "up": by_day.get(day, {}).get("up", 0), "down": by_day.get(day, {}).get("down", 0)}
    for day in period.days()
  ]


def feedback_totals(*, period: Period) -> dict[str, Any]:
  """👍, 👎 and the share of 👍 among rated answers (None when nothing was rated)."""
  totals = period.filter(Feedback.objects.all()).aggregate(
    up=Count("id", filter=Q(rating=Feedback.Rating.UP)),
    down=Count("id", filter=Q(rating=Feedback.Rating.DOWN)),
  )
  rated = totals["up"] + totals["down"]
  totals["up_share"] = _percent(totals["up"], rated) if rated else None
  return totals


def worst_answers(*, period: Period, limit: int = 10) -> list[dict[str, Any]]:
  """Answers with the most 👎 in the period, with the question each one answered."""
  downs = (
    period.filter(Feedback.objects.filter(rating=Feedback.Rating.DOWN, message__isnull=False))
    .values("message_id")
    .annotate(down=Count("id"))
    .order_by("-down", "-message_id")[:limit]
  )
  down_by_id = {row["message_id"]: row["down"] for row in downs}
  ups = dict(
    Feedback.objects.filter(message_id__in=down_by_id, rating=Feedback.Rating.UP)
    .values_list("message_id")
    .annotate(n=Count("id"))
    .order_by()
  )
  answers = _answers_with_questions(list(down_by_id))
  rows = [
    {**answers[pk], "down": down, "up": ups.get(pk, 0)}
    for pk, down in down_by_id.items()
    if pk in answers
  ]
  return sorted(rows, key=lambda row: (-row["down"], -row["message_id"]))


def unanswered(*, period: Period, limit: int = 50) -> list[dict[str, Any]]:
  """Questions the assistant fell back on (no LLM answer) or answered with a 👎; newest first."""
  fallback_ids = list(
    period.filter(Message.objects.filter(role=Message.Role.ASSISTANT, is_fallback=True))
    .order_by("-created_at", "-id")
    .values_list("id", flat=True)[:limit]
  )
  disliked_ids = list(
    period.filter(Feedback.objects.filter(rating=Feedback.Rating.DOWN, message__isnull=False))
    .order_by("-created_at", "-id")
    .values_list("message_id", flat=True)[:limit]
  )
  answers = _answers_with_questions(list({*fallback_ids, *disliked_ids}))
  disliked = set(disliked_ids)
  rows = [
    {**row, "reason": "fallback" if row["is_fallback"] else "down"}
    for row in answers.values()
    if row["is_fallback"] or row["message_id"] in disliked
  ]
  rows.sort(key=lambda row: (row["time"], row["message_id"]), reverse=True)
  return rows[:limit]


def _answers_with_questions(ids: list[int]) -> dict[int, dict[str, Any]]:
  rows = (
    Message.objects.filter(pk__in=ids)
    .annotate(question=question_subquery())
    .values("id", "chat_id", "text", "question", "created_at", "is_fallback", "model_name")
  )
  return {
    row["id"]: {
      "message_id": row["id"],
      "chat_id": row["chat_id"],
      "time": row["created_at"],
      "question": row["question"] or "",
      "answer": row["text"],
      "is_fallback": row["is_fallback"],
      "model": row["model_name"],
    }
    for row in rows
  }


def llm_usage(*, period: Period) -> list[dict[str, Any]]:
  """Per model: answers, tokens, cost, average latency (the LLM registry's usage selector)."""
  from llm.selectors import usage_by_model

  return usage_by_model(date_from=period.start, date_to=period.end)


def summary(
  *,
  new: list[dict],
  funnel_rows: list[dict],
  messages: list[dict],
  feedback: dict[str, Any],
  usage: list[dict],
) -> dict[str, Any]:
  """Headline numbers for the period, added up from the other selectors' rows (no queries)."""
  leads = sum(row["leads"] for row in new)
  won = next(row["leads"] for row in funnel_rows if row["stage"] == Lead.Stage.WON)
  return {
    "customers": sum(row["customers"] for row in new),
    "leads": leads,
    "won": won,
    "conversion": _percent(won, leads),
    "messages": sum(row["customer"] for row in messages),
    "answers": sum(row["assistant"] for row in messages),
    "up": feedback["up"],
    "down": feedback["down"],
    "up_share": feedback["up_share"],
    "cost": sum((row["cost"] for row in usage), Decimal("0")),
  }


def _percent(part: int, whole: int) -> float:
  return round(100 * part / whole, 1) if whole else 0.0


def _int_or_none(value: float | int | None) -> int | None:
  return None if value is None else int(value)
