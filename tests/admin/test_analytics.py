import csv
import datetime as dt
import io
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from assistant import analytics
from assistant.analytics import Period
from leads.models import Feedback, Lead
from memory.models import Message
from tests.factories import chat_factory, customer_factory, service_factory

MOSCOW = ZoneInfo("Europe/Moscow")
PERIOD = Period(dt.date(2025, 3, 1), dt.date(2025, 3, 3))
QUERY = {"date_from": "2025-03-01", "date_to": "2025-03-03"}


def _at(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
  return dt.datetime(2025, month, day, hour, minute, tzinfo=MOSCOW)


def _stamp(obj, when: dt.datetime):
  type(obj).objects.filter(pk=obj.pk).update(created_at=when)
  return obj


def _message(chat, customer, role, text, when, **fields):
  return _stamp(
    Message.objects.create(chat=chat, customer=customer, role=role, text=text, **fields), when
  )


@pytest.fixture
def march(db, settings):
  """Three days of activity in Moscow time, plus rows just outside the period."""
  settings.TIME_ZONE = "Europe/Moscow"
  c1 = _stamp(customer_factory(first_name="C1"), _at(1, 10))
  c2 = _stamp(customer_factory(first_name="C2"), _at(1, 23, 30))  # 20:30 UTC: still March 1st
  c3 = _stamp(customer_factory(first_name="C3"), _at(3, 9))
  _stamp(customer_factory(first_name="Out"), _at(4, 0, 10))  # 21:10 UTC on the 3rd: March 4th
  site, bot = service_factory(name="Website"), service_factory(name="Bot")
  for stage, service, when in [
    (Lead.Stage.NEW, site, _at(1, 12)),
    (Lead.Stage.QUALIFIED, site, _at(2, 12)),
    (Lead.Stage.CONTACTED, bot, _at(2, 13)),
    (Lead.Stage.WON, site, _at(3, 12)),
    (Lead.Stage.LOST, None, _at(3, 13)),
    (Lead.Stage.WON, site, _at(28, 12, month=2)),
  ]:
    _stamp(Lead.objects.create(customer=c1, stage=stage, service=service), when)
  chat = chat_factory()
  usage = {"role": Message.Role.ASSISTANT}
  _message(chat, c1, "user", "How much is a site?", _at(1, 10, 1))
  a1 = _message(
    chat,
    c1,
    "assistant",
    "From 45k.",
    _at(1, 10, 2),
    latency_ms=1000,
    model_name="fake/a",
    prompt_tokens=100,
    completion_tokens=10,
    cost=Decimal("0.01"),
  )
  _message(chat, c2, "user", "Do you make bots?", _at(2, 10))
  a2 = _message(
    chat,
    c2,
    "assistant",
    "No.",
    _at(2, 10, 1),
    latency_ms=2000,
    model_name="fake/a",
    prompt_tokens=200,
    completion_tokens=20,
    cost=Decimal("0.02"),
  )
  _message(chat, c3, "user", "Deadline?", _at(2, 11))
  a3 = _message(
    chat,
    c3,
    "assistant",
    "A week.",
    _at(2, 11, 1),
    latency_ms=3000,
    model_name="fake/b",
    prompt_tokens=300,
    completion_tokens=30,
    cost=Decimal("0.03"),
  )
  _message(chat, c3, "operator", "I will call you", _at(2, 12))
  _message(chat, c1, "user", "Discounts?", _at(3, 10))
  a4 = _message(chat, c1, "assistant", "A manager will answer.", _at(3, 10, 1), is_fallback=True)
  for customer, message, rating, when in [
    (c1, a1, 1, _at(1, 11)),
    (c2, a2, -1, _at(2, 10, 5)),
    (c3, a2, -1, _at(2, 10, 6)),
    (c3, a3, -1, _at(2, 11, 5)),
    (c1, a3, 1, _at(3, 8)),
  ]:
    _stamp(Feedback.objects.create(customer=customer, message=message, rating=rating), when)
  del usage
  return {"a2": a2, "a3": a3, "a4": a4}


def test_new_customers_and_leads_per_day_use_local_days(march):
  assert analytics.new_per_day(period=PERIOD) == [
    {"day": dt.date(2025, 3, 1), "customers": 2, "leads": 1},
    {"day": dt.date(2025, 3, 2), "customers": 0, "leads": 2},
    {"day": dt.date(2025, 3, 3), "customers": 1, "leads": 2},
  ]


def test_funnel_counts_leads_that_reached_each_stage(march):
  assert [(r["stage"], r["leads"], r["share"]) for r in analytics.funnel(period=PERIOD)] == [
    ("new", 4, 80.0),
    ("qualified", 3, 60.0),
    ("contacted", 2, 40.0),
    ("won", 1, 20.0),
    ("lost", 1, 20.0),
  ]


def test_conversion_by_service(march):
  assert analytics.conversion_by_service(period=PERIOD) == [
    {"service": "Website", "leads": 3, "won": 1, "conversion": 33.3},
    {"service": "Bot", "leads": 1, "won": 0, "conversion": 0.0},
    {"service": "—", "leads": 1, "won": 0, "conversion": 0.0},
  ]


def test_messages_per_day_by_role(march):
  assert [
    (r["customer"], r["assistant"], r["operator"])
    for r in analytics.messages_per_day(period=PERIOD)
  ] == [
    (1, 1, 0),
    (2, 2, 1),
    (1, 1, 0),
  ]


def test_latency_percentiles_per_day(march):
  assert analytics.latency_per_day(period=PERIOD) == [
    {"day": dt.date(2025, 3, 1), "answers": 1, "p50": 1000, "p95": 1000},
    {"day": dt.date(2025, 3, 2), "answers": 2, "p50": 2000, "p95": 3000},
    {"day": dt.date(2025, 3, 3), "answers": 0, "p50": None, "p95": None},
  ]


def test_nearest_rank_percentiles_over_many_values(db, settings):
  # given: latencies 10, 20, ..., 1000 ms on one day
  settings.TIME_ZONE = "Europe/Moscow"
  chat, customer = chat_factory(), customer_factory()
  for n in range(1, 101):
    _message(chat, customer, "assistant", "a", _at(5, 12), latency_ms=n * 10)

  # when
  [day] = analytics.latency_per_day(period=Period(dt.date(2025, 3, 5), dt.date(2025, 3, 5)))

  # then
  assert (day["answers"], day["p50"], day["p95"]) == (100, 500, 950)


def test_feedback_per_day_totals_and_worst_answers(march):
  assert [(r["up"], r["down"]) for r in analytics.feedback_per_day(period=PERIOD)] == [
    (1, 0),
    (0, 3),
    (1, 0),
  ]
  assert analytics.feedback_totals(period=PERIOD) == {"up": 2, "down": 3, "up_share": 40.0}
  worst = analytics.worst_answers(period=PERIOD)
  assert [(r["question"], r["answer"], r["down"], r["up"]) for r in worst] == [
    ("Do you make bots?", "No.", 2, 0),
    ("Deadline?", "A week.", 1, 1),
  ]


def test_unanswered_lists_fallbacks_and_disliked_answers_newest_first(march):
  rows = analytics.unanswered(period=PERIOD)
  assert [(r["question"], r["answer"], r["reason"]) for r in rows] == [
    ("Discounts?", "A manager will answer.", "fallback"),
    ("Deadline?", "A week.", "down"),
    ("Do you make bots?", "No.", "down"),
  ]
  assert analytics.unanswered(period=PERIOD, limit=1)[0]["reason"] == "fallback"


def test_llm_usage_per_model(march):
  rows = analytics.llm_usage(period=PERIOD)
  assert [
    (r["model_name"], r["messages"], r["prompt_tokens"], r["completion_tokens"], r["cost"])
    for r in rows
  ] == [
    ("fake/a", 2, 300, 30, Decimal("0.030000")),
    ("fake/b", 1, 300, 30, Decimal("0.030000")),
  ]


def test_feedback_totals_without_ratings_have_no_share(db):
  assert analytics.feedback_totals(period=PERIOD) == {"up": 0, "down": 0, "up_share": None}


def test_analytics_page_shows_summary_charts_and_tables(admin_client_en, march):
  # when
  response = admin_client_en.get(reverse("admin:analytics"), QUERY)

  # then
  html = response.content.decode()
  assert response.status_code == 200
  assert response.context["summary"] == {
    "customers": 3,
    "leads": 5,
    "won": 1,
    "conversion": 20.0,
    "messages": 4,
    "answers": 4,
    "up": 2,
    "down": 3,
    "up_share": 40.0,
    "cost": Decimal("0.060000"),
  }
  assert "chart-4.6.1.umd.min.js" in html and 'id="chart-funnel"' in html
  charts = response.context["charts"]
  assert charts["new"]["day"] == ["2025-03-01", "2025-03-02", "2025-03-03"]
  assert charts["latency"]["p95"] == [1000, 3000, None]
  assert charts["usage"]["cost"] == [0.03, 0.03]
  data = json.loads(
    html.split('id="analytics-data" type="application/json">')[1].split("</script>")[0]
  )
  assert data["funnel"]["leads"] == [4, 3, 2, 1, 1]
  assert "Do you make bots?" in html and "A manager will answer." in html
  assert f"?at={march['a4'].pk}#m{march['a4'].pk}" in html


def test_analytics_csv_downloads_each_table_with_exact_numbers(admin_client_en, march):
  def table(name: str) -> list[list[str]]:
    response = admin_client_en.get(reverse("admin:analytics_csv", args=[name]), QUERY)
    assert (
      response["Content-Disposition"] == f'attachment; filename="{name}-2025-03-01-2025-03-03.csv"'
    )
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))

  assert table("funnel") == [
    ["stage", "leads", "share of leads, %"],
    ["new", "4", "80.0"],
    ["qualified", "3", "60.0"],
    ["contacted", "2", "40.0"],
    ["won", "1", "20.0"],
    ["lost", "1", "20.0"],
  ]
  assert table("latency")[1:] == [
    ["2025-03-01", "1", "1000", "1000"],
    ["2025-03-02", "2", "2000", "3000"],
    ["2025-03-03", "0", "", ""],
  ]
  assert table("unanswered")[1] == [
    "2025-03-03 10:01:00",
    "Discounts?",
    "A manager will answer.",
    "fallback answer",
  ]
  assert table("usage")[1] == ["fake/a", "2", "300", "30", "0.030000", "1500"]
  assert table("new")[1] == ["2025-03-01", "2", "1"]
  assert len(table("messages")) == 4 and len(table("feedback")) == 4
  assert table("worst")[1] == ["Do you make bots?", "No.", "2", "0"]
  assert table("services")[1] == ["Website", "3", "1", "33.3"]
  assert admin_client_en.get(reverse("admin:analytics_csv", args=["nope"])).status_code == 404


@pytest.mark.django_db
def test_period_defaults_presets_and_validation(admin_client_en):
  url = reverse("admin:analytics")
  default = admin_client_en.get(url).context["period"]
  assert (default.end - default.start).days == 29
  week = admin_client_en.get(url, {"days": "7"}).context["period"]
  assert (week.end - week.start).days == 6
  backwards = admin_client_en.get(url, {"date_from": "2025-03-05", "date_to": "2025-03-01"})
  assert "The start date is after the end date." in backwards.content.decode()
  too_long = admin_client_en.get(url, {"date_from": "2020-01-01", "date_to": "2025-01-01"})
  assert "Choose at most 366 days." in too_long.content.decode()
  assert (too_long.context["period"].end - too_long.context["period"].start).days == 29


@pytest.mark.django_db
def test_analytics_needs_its_permission(manager_client, editor_client):
  assert manager_client.get(reverse("admin:analytics")).status_code == 200
  assert editor_client.get(reverse("admin:analytics")).status_code == 403
  assert editor_client.get(reverse("admin:analytics_csv", args=["funnel"])).status_code == 403
  index = editor_client.get(reverse("admin:index")).content.decode()
  assert reverse("admin:analytics") not in index
  assert reverse("admin:analytics") in manager_client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db
def test_empty_period_renders(admin_client_en):
  html = admin_client_en.get(reverse("admin:analytics")).content.decode()
  assert "No 👎 in this period." in html
  assert "Every question got an answer nobody disliked." in html


def test_days_follow_daylight_saving_changes(db, settings):
  # given: Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 30 March 2025
  settings.TIME_ZONE = "Europe/Berlin"
  berlin = ZoneInfo("Europe/Berlin")
  for local in [
    dt.datetime(2025, 3, 30, 0, 30, tzinfo=berlin),  # 23:30 UTC on the 29th
    dt.datetime(2025, 3, 30, 23, 30, tzinfo=berlin),  # 21:30 UTC on the 30th
    dt.datetime(2025, 3, 31, 0, 30, tzinfo=berlin),  # 22:30 UTC on the 30th
  ]:
    _stamp(customer_factory(), local)
  period = Period(dt.date(2025, 3, 29), dt.date(2025, 3, 31))

  # when
  rows = analytics.new_per_day(period=period)

  # then
  assert [row["customers"] for row in rows] == [0, 2, 1]
  assert analytics._offsets(period) == [
    (dt.datetime(2025, 3, 30, 1, 0, tzinfo=dt.UTC), 60),
    (None, 120),
  ]


def test_days_in_a_half_hour_time_zone(db, settings):
  settings.TIME_ZONE = "Asia/Kolkata"
  kolkata = ZoneInfo("Asia/Kolkata")
  _stamp(customer_factory(), dt.datetime(2025, 3, 2, 0, 15, tzinfo=kolkata))  # 18:45 UTC on the 1st
  period = Period(dt.date(2025, 3, 1), dt.date(2025, 3, 2))
  assert [row["customers"] for row in analytics.new_per_day(period=period)] == [0, 1]
  assert analytics._offsets(period) == [(None, 330)]


def test_sqlite_local_day_expression_switches_offset_at_each_dst_change(settings):
  settings.TIME_ZONE = "Europe/Berlin"
  expression = analytics._sqlite_day(Period(dt.date(2025, 3, 29), dt.date(2025, 3, 31)))
  shift = expression.source_expressions[1]
  assert expression.extra["function"] == "date"
  assert [when.result.value for when in shift.cases] == ["+60 minutes"]
  assert shift.default.value == "+120 minutes"
  steady = analytics._sqlite_day(Period(dt.date(2025, 6, 1), dt.date(2025, 6, 3)))
  assert steady.source_expressions[1].value == "+120 minutes"


def test_histogram_percentiles_match_on_every_database(march):
  assert analytics._percentiles_from_histogram(PERIOD) == {
    dt.date(2025, 3, 1): {"answers": 1, "p50": 1000, "p95": 1000},
    dt.date(2025, 3, 2): {"answers": 2, "p50": 2000, "p95": 3000},
  }
