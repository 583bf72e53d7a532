import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from llm.selectors import (
  customer_model_current,
  customer_model_name,
  customer_tokens_today,
  model_get,
  model_get_default,
  model_list_active,
  model_list_selectable,
  usage_by_customer,
  usage_by_day,
  usage_by_model,
  usage_totals,
)
from memory.models import Message
from tests.factories import customer_factory, llm_model_factory, message_factory

pytestmark = pytest.mark.django_db


def test_model_list_selectable_is_active_and_open_in_fallback_order():
  llm_model_factory(provider_model_name="b", fallback_order=2)
  llm_model_factory(provider_model_name="a2", fallback_order=1)
  llm_model_factory(provider_model_name="a1", fallback_order=1)
  llm_model_factory(provider_model_name="off", active=False)
  llm_model_factory(provider_model_name="staff", customer_selectable=False)

  assert [m.provider_model_name for m in model_list_selectable()] == ["a1", "a2", "b"]


def test_model_get_default_and_model_get(settings):
  assert model_get_default() is None
  first = llm_model_factory(provider_model_name="first", fallback_order=1)
  admin = llm_model_factory(provider_model_name="admin", fallback_order=5, is_default=True)
  env = llm_model_factory(provider_model_name="env", fallback_order=9)

  assert model_get_default() == admin
  settings.DEFAULT_LLM_MODEL = "env"
  assert model_get_default() == env
  assert model_get(provider_model_name="first") == first
  assert model_get(provider_model_name="nope") is None


def test_customer_model_name_respects_staff_restrictions():
  default = llm_model_factory(provider_model_name="default", fallback_order=1)
  chosen = llm_model_factory(provider_model_name="chosen", fallback_order=2)
  customer = customer_factory(selected_model=chosen)
  assert customer_model_name(customer=customer) == "chosen"
  assert customer_model_current(customer=customer) == chosen

  chosen.customer_selectable = False
  chosen.save()
  customer.refresh_from_db()
  assert customer_model_name(customer=customer) is None
  assert customer_model_current(customer=customer) == default

  chosen.customer_selectable, chosen.active = True, False
  chosen.save()
  customer.refresh_from_db()
  assert customer_model_name(customer=customer) is None
  assert customer_model_name(customer=customer_factory()) is None


def _answer(customer, model, prompt, completion, cost, latency, *, at=None):
  message = message_factory(
    customer=customer,
    role=Message.Role.ASSISTANT,
    model_name=model,
    prompt_tokens=prompt,
    completion_tokens=completion,
    cost=Decimal(cost),
    latency_ms=latency,
  )
  if at is not None:
    Message.objects.filter(pk=message.pk).update(created_at=at)
  return message


@pytest.fixture
def usage():
  """Answers over three days for two customers and two models, plus rows that must not count."""
  tz = timezone.get_current_timezone()
  day = lambda d, h=12: dt.datetime(2026, 3, d, h, tzinfo=tz)  # noqa: E731
  anna, boris = customer_factory(first_name="Anna"), customer_factory(first_name="Boris")
  _answer(anna, "gpt", 100, 50, "0.010000", 1000, at=day(1))
  _answer(anna, "gpt", 200, 100, "0.020000", 3000, at=day(2, 0))  # local midnight
  _answer(boris, "llama", 1000, 10, "0.001000", 500, at=day(2, 23))
  _answer(boris, "gpt", 10, 10, "0.005000", 2000, at=day(3))
  message_factory(customer=anna, role=Message.Role.USER, prompt_tokens=999)  # not an answer
  message_factory(customer=anna, role=Message.Role.ASSISTANT, text="scripted greeting")
  return anna, boris


def test_usage_by_model(usage):
  rows = usage_by_model(date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 3))

  assert rows == [
    {
      "model_name": "gpt",
      "messages": 3,
      "prompt_tokens": 310,
      "completion_tokens": 160,
      "total_tokens": 470,
      "cost": Decimal("0.035000"),
      "avg_latency_ms": 2000,
    },
    {
      "model_name": "llama",
      "messages": 1,
      "prompt_tokens": 1000,
      "completion_tokens": 10,
      "total_tokens": 1010,
      "cost": Decimal("0.001000"),
      "avg_latency_ms": 500,
    },
  ]


def test_usage_by_customer_biggest_first(usage):
  anna, boris = usage

  rows = usage_by_customer(date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 3))

  assert [(r["customer"], r["total_tokens"], r["messages"], r["cost"]) for r in rows] == [
    (boris, 1030, 2, Decimal("0.006000")),
    (anna, 450, 2, Decimal("0.030000")),
  ]
  only_gpt = usage_by_customer(model_name="gpt", limit=1)
  assert [(r["customer_pk"], r["total_tokens"]) for r in only_gpt] == [(anna.pk, 450)]


def test_usage_by_day_uses_local_days_and_the_range(usage):
  rows = usage_by_day(date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 2))

  assert [(r["day"], r["messages"], r["total_tokens"]) for r in rows] == [
    (dt.date(2026, 3, 2), 2, 1310)
  ]
  gpt_days = usage_by_day(model_name="gpt")
  assert [(r["day"], r["total_tokens"]) for r in gpt_days] == [
    (dt.date(2026, 3, 1), 150),
    (dt.date(2026, 3, 2), 300),
    (dt.date(2026, 3, 3), 20),
  ]


def test_usage_totals(usage):
  assert usage_totals(date_from=dt.date(2026, 3, 3)) == {
    "messages": 1,
    "prompt_tokens": 10,
    "completion_tokens": 10,
    "total_tokens": 20,
    "cost": Decimal("0.005000"),
    "avg_latency_ms": 2000,
  }
  assert usage_totals(date_to=dt.date(2026, 2, 28)) == {
    "messages": 0,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "total_tokens": 0,
    "cost": Decimal("0.000000"),
    "avg_latency_ms": None,
  }


def test_customer_tokens_today():
  customer = customer_factory()
  _answer(customer, "m", 7, 3, "0", 1)
  _answer(customer, "m", 100, 100, "0", 1, at=timezone.now() - dt.timedelta(days=1, hours=1))
  _answer(customer_factory(), "m", 50, 50, "0", 1)

  assert customer_tokens_today(customer=customer) == 10
  assert customer_tokens_today(customer=customer_factory()) == 0


def test_the_customers_model_comes_from_the_cached_rows(django_assert_num_queries):
  # given: a customer who picked a model, the rows already read
  chosen = llm_model_factory(provider_model_name="pick/me", fallback_order=5)
  llm_model_factory(provider_model_name="default/one", fallback_order=1)
  customer = customer_factory(selected_model=chosen)
  customer = type(customer).objects.get(pk=customer.pk)  # as loaded by a turn
  model_list_active()

  # when / then: each call reads only the change stamps (CONTENT_RELOAD_SECONDS=0 in tests)
  with django_assert_num_queries(2):
    assert customer_model_name(customer=customer) == "pick/me"
    assert customer_model_current(customer=customer).provider_model_name == "pick/me"
  chosen.active = False
  chosen.save()
  assert customer_model_current(customer=customer).provider_model_name == "default/one"
