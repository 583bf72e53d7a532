import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.db.models import F
from django.utils import timezone

from assistant.prepared import PreparedQuery, PreparedQueryError
from leads.models import Customer
from memory.models import Chat, Message
from tests.factories import chat_factory, customer_factory, message_factory

pytestmark = pytest.mark.django_db


def _customer_query(calls: list | None = None) -> PreparedQuery:
  def build(p):
    if calls is not None:
      calls.append(threading.get_ident())
    return Customer.objects.filter(channel=p.str("channel"), external_id=p.str("id")).order_by()[:1]

  return PreparedQuery(build)


def _fields(instance) -> dict:
  return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_rows_equal_what_the_orm_loads_including_json_and_datetimes():
  # given
  stored = customer_factory(
    external_id="42",
    state={"pending": {"kind": "feedback"}, "n": 1},
    consent=Customer.Consent.GIVEN,
    consent_at=timezone.now(),
    last_seen_at=timezone.now(),
  )
  customer_factory(external_id="43")

  # when
  found = _customer_query().first(channel="telegram", id="42")

  # then
  expected = Customer.objects.get(pk=stored.pk)
  assert _fields(found) == _fields(expected)
  assert found.state == {"pending": {"kind": "feedback"}, "n": 1}
  assert timezone.is_aware(found.consent_at)
  assert found._state.adding is False and found._state.db == "default"


def test_no_row_gives_none_and_an_empty_list():
  query = _customer_query()

  assert query.first(channel="telegram", id="missing") is None
  assert query.all(channel="telegram", id="missing") == []


def test_the_queryset_is_built_once_per_thread_and_each_call_is_one_query(
  django_assert_num_queries,
):
  # given
  customer_factory(external_id="1")
  calls: list[int] = []
  query = _customer_query(calls)

  # when
  with django_assert_num_queries(1):
    first = query.first(channel="telegram", id="1")
  with django_assert_num_queries(1):
    second = query.first(channel="telegram", id="2")
  other = threading.Thread(target=_compile_here, args=(query,))
  other.start()
  other.join()

  # then: compiled once here and once in the other thread (Django's connections are per thread)
  assert first.external_id == "1" and second is None
  assert len(calls) == 2 and calls[0] == threading.get_ident() != calls[1]


def _compile_here(query: PreparedQuery) -> None:
  try:
    query._compiled(connections["default"], "default")
  finally:
    connections.close_all()


def test_constants_stay_and_select_related_objects_come_with_the_row(django_assert_num_queries):
  # given: a group message of Anna's, a system notice and another chat's message
  group = chat_factory(type=Chat.Type.GROUP)
  anna = customer_factory(first_name="Anna")
  wanted = message_factory(chat=group, customer=anna, text="hello", cost=Decimal("0.0012"))
  message_factory(chat=group, customer=anna, text="notice", role=Message.Role.SYSTEM)
  message_factory(chat=chat_factory(), customer=anna, text="elsewhere")
  query = PreparedQuery(
    lambda p: (
      Message.objects.filter(chat_id=p.int("chat"), role__in=["user", "assistant"])
      .select_related("customer")
      .order_by("-created_at")
    )
  )

  # when
  with django_assert_num_queries(1):
    rows = query.all(chat=group.pk)
    names = [row.customer.first_name for row in rows]

  # then
  assert [row.pk for row in rows] == [wanted.pk]
  assert names == ["Anna"]
  assert rows[0].cost == Decimal("0.0012")


def test_datetime_and_bigint_placeholders_filter_like_the_orm():
  # given: topic 7 of a forum, one old and one recent message
  forum = chat_factory(type=Chat.Type.SUPERGROUP, is_forum=True)
  old = message_factory(chat=forum, text="old", thread_id=7)
  new = message_factory(chat=forum, text="new", thread_id=7)
  message_factory(chat=forum, text="other topic", thread_id=8)
  Message.objects.filter(pk=old.pk).update(created_at=F("created_at") - dt.timedelta(hours=2))
  query = PreparedQuery(
    lambda p: Message.objects.filter(
      thread_id=p.int("thread"), created_at__gte=p.datetime("since")
    ).values_list("text", "thread_id")
  )

  # when
  rows = query.all(thread=7, since=timezone.now() - dt.timedelta(hours=1))

  # then
  assert rows == [("new", 7)]
  assert new.thread_id == 7


@pytest.mark.parametrize(
  ("value", "message"),
  [
    (None, "'id' must be a str, not NoneType"),
    (42, "'id' must be a str, not int"),
  ],
)
def test_a_value_of_another_type_is_refused(value, message):
  with pytest.raises(PreparedQueryError, match=message):
    _customer_query().first(channel="telegram", id=value)


def test_a_bool_is_not_taken_for_an_int_nor_a_missing_value_ignored():
  query = PreparedQuery(lambda p: Message.objects.filter(chat_id=p.int("chat")))

  with pytest.raises(PreparedQueryError, match="'chat' must be a int, not bool"):
    query.all(chat=True)
  with pytest.raises(PreparedQueryError, match="No value for the placeholder 'chat'"):
    query.all()


def test_a_placeholder_the_sql_does_not_use_is_an_error():
  def build(p):
    p.str("unused")
    return Customer.objects.all()

  with pytest.raises(PreparedQueryError, match=r"not found in the compiled SQL: \['unused'\]"):
    PreparedQuery(build).all(unused="x")


def test_only_model_and_values_list_querysets_are_supported():
  query = PreparedQuery(lambda p: Customer.objects.filter(external_id=p.str("id")).values("pk"))

  with pytest.raises(PreparedQueryError, match="Only model and values_list"):
    query.all(id="1")
