"""Long-term memory search; the same tests run on SQLite (FTS5) and PostgreSQL (tsvector)."""

import pytest
from django.db import connection

from leads.models import Customer
from memory.models import Chat, Message
from memory.search import MAX_QUERY_TERMS, message_search, message_search_ids
from tests.factories import chat_factory, customer_factory, message_factory


def _found(customer, chat, query, *, limit=10, exclude_ids=()) -> list[str]:
  found = message_search(
    customer=customer, chat=chat, query=query, limit=limit, exclude_ids=exclude_ids
  )
  return [message.text for message in found]


def _index_rows(message: Message) -> int:
  with connection.cursor() as cursor:
    if connection.vendor == "postgresql":
      cursor.execute(
        "SELECT count(*) FROM memory_message WHERE id = %s AND search_vector IS NOT NULL",
        [message.pk],
      )
    else:
      cursor.execute("SELECT count(*) FROM memory_message_fts WHERE rowid = %s", [message.pk])
    return cursor.fetchone()[0]


@pytest.mark.parametrize("query", ["доставка", "доставку", "доставкой", "Доставки?"])
def test_inflected_russian_words_match_each_other(customer, chat, say, query):
  say("Сколько стоит доставка?")
  say("Доставку делаем за день.", role=Message.Role.ASSISTANT)
  say("Спасибо, понятно")

  assert _found(customer, chat, query) == ["Доставку делаем за день.", "Сколько стоит доставка?"]


@pytest.mark.parametrize("query", ["delivery", "deliveries", "DELIVERY options"])
def test_inflected_english_words_match_each_other(customer, chat, say, query):
  say("Do you do deliveries?")
  say("Yes, delivery takes a day.", role=Message.Role.ASSISTANT)
  say("Thanks")

  assert _found(customer, chat, query) == ["Yes, delivery takes a day.", "Do you do deliveries?"]


def test_more_shared_terms_rank_first_then_newer(customer, chat, say):
  # given
  both = say("Доставка и установка кондиционера")
  say("Установка занимает час")
  newer_one = say("Доставка бесплатная")

  # when
  found = message_search(customer=customer, chat=chat, query="доставка установка", limit=3)

  # then
  assert [m.pk for m in found] == [both.pk, newer_one.pk, found[2].pk]
  assert found[2].text == "Установка занимает час"


def test_limit_and_exclusions(customer, chat, say):
  old = say("цена сайта")
  middle = say("цена логотипа")
  new = say("цена визитки")

  assert [m.pk for m in message_search(customer=customer, chat=chat, query="цена", limit=2)] == [
    new.pk,
    middle.pk,
  ]
  assert _found(customer, chat, "цена", exclude_ids={new.pk, middle.pk}) == [old.text]
  assert message_search(customer=customer, chat=chat, query="цена", limit=0) == []


def test_queries_without_terms_find_nothing(customer, chat, say):
  say("и в на")

  assert _found(customer, chat, "и в на") == []
  assert _found(customer, chat, "   ") == []
  assert message_search_ids(customer_id=customer.pk, chat_id=chat.pk, query="...", limit=3) == []


def test_a_long_query_is_cut_to_its_most_specific_terms(customer, chat, say):
  say("преобразование")
  words = [f"слово{n}" for n in range(MAX_QUERY_TERMS)]

  # the long word ranks among the kept terms; the short ones beyond the cap are dropped
  assert _found(customer, chat, " ".join([*words, "преобразование", "кот"])) == ["преобразование"]


def test_only_remembered_messages_are_indexed(customer, chat, say):
  text = say("заказ номер один")
  system = say("заказ системный", role=Message.Role.SYSTEM)
  contact = say("заказ +79991234567", kind="contact")
  anonymous = message_factory(chat=chat, customer=None, text="заказ без клиента")

  assert [_index_rows(m) for m in (text, system, contact, anonymous)] == [1, 0, 0, 0]
  assert _found(customer, chat, "заказ") == ["заказ номер один"]


def test_an_edit_updates_the_index(customer, chat, say):
  message = say("хочу логотип")

  Message.objects.filter(pk=message.pk).update(text="хочу сайт")

  assert _found(customer, chat, "логотип") == []
  assert _found(customer, chat, "сайт") == ["хочу сайт"]


def test_changing_the_kind_or_role_updates_the_index(customer, chat, say):
  message = say("хочу логотип")

  message.role = Message.Role.SYSTEM
  message.save()
  assert _found(customer, chat, "логотип") == []

  message.role = Message.Role.USER
  message.save()
  assert _found(customer, chat, "логотип") == ["хочу логотип"]


def test_deleting_a_message_removes_it_from_the_index(customer, chat, say):
  message = say("хочу логотип")

  message_pk = message.pk
  message.delete()

  assert _found(customer, chat, "логотип") == []
  assert _index_rows(Message(pk=message_pk)) == 0


def test_deleting_the_customer_removes_all_their_index_entries(customer, chat, say):
  # given: what /forget does in the end (the customer and everything cascading from it)
  stored = [say("хочу логотип"), say("логотип готов", role=Message.Role.ASSISTANT)]
  other = customer_factory()
  kept = message_factory(chat=chat, customer=other, text="логотип другого")

  # when
  Customer.objects.filter(pk=customer.pk).delete()

  # then
  assert [_index_rows(m) for m in stored] == [0, 0]
  assert _found(other, chat, "логотип") == [kept.text]


def test_search_never_returns_another_customers_messages(customer, chat, say):
  # given: a second customer with matching text in their chat and in a shared group
  stranger = customer_factory(first_name="Eve")
  group = chat_factory(type=Chat.Type.GROUP)
  message_factory(chat=chat_factory(), customer=stranger, text="секретный пароль доставки")
  message_factory(chat=group, customer=stranger, text="секретный пароль доставки")
  message_factory(chat=group, customer=None, text="секретный пароль доставки")
  say("мой вопрос про доставку")

  # then
  assert _found(customer, chat, "секретный пароль доставки") == ["мой вопрос про доставку"]
  assert _found(customer, group, "секретный пароль доставки") == []


def test_group_search_reads_only_that_group_and_private_search_only_the_private_chat(
  customer, chat, say
):
  # given
  group = chat_factory(type=Chat.Type.GROUP)
  other_group = chat_factory(type=Chat.Type.GROUP)
  say("личный вопрос о скидке")
  message_factory(chat=group, customer=customer, text="в группе о скидке")
  message_factory(chat=other_group, customer=customer, text="в другой группе о скидке")

  # then
  assert _found(customer, chat, "скидка") == ["личный вопрос о скидке"]
  assert _found(customer, group, "скидка") == ["в группе о скидке"]


def test_scope_tokens_in_text_cannot_widen_the_scope(customer, chat, say):
  stranger = customer_factory()
  say("обычный текст")
  # a stranger in the same chat spells out the customer's index tokens
  message_factory(chat=chat, customer=stranger, text=f"s{chat.pk}_{customer.pk}_обычн обычный")

  assert _found(customer, chat, f"обычный s{chat.pk}_{customer.pk}_обычн") == ["обычный текст"]


def test_punctuation_in_terms_is_safe(customer, chat, say):
  say("пишите на ivan@mail.ru или https://x.ru/a?b=1&c='d'")
  say("кавычки 'одинарные' и \"двойные\" \\ слеш")

  assert _found(customer, chat, "ivan@mail.ru") == [
    "пишите на ivan@mail.ru или https://x.ru/a?b=1&c='d'"
  ]
  assert _found(customer, chat, "x.ru/a?b=1&c='d'") == [
    "пишите на ivan@mail.ru или https://x.ru/a?b=1&c='d'"
  ]
  assert _found(customer, chat, "'одинарные' \"двойные\" OR AND NOT * ^ : \\") == [
    "кавычки 'одинарные' и \"двойные\" \\ слеш"
  ]


def test_anonymous_search_finds_nothing(chat):
  assert message_search(customer=None, chat=chat, query="доставка", limit=3) == []


@pytest.mark.parametrize("build", ["_pg_search_sql", "_sqlite_search_sql"])
@pytest.mark.parametrize("exclude", [[], [5, 9]])
def test_search_sql_has_a_parameter_for_every_placeholder(build, exclude):
  # Both builders are checked on both databases (only one of them runs a query on each).
  from memory import search

  sql, params = getattr(search, build)(
    ["доставк", "a_2e_b"], customer_id=1, chat_id=2, exclude=exclude
  )

  assert sql.count("%s") == len(params) + 1  # + the LIMIT the caller appends
  assert ("NOT IN" in sql) is bool(exclude)
  assert all(pk in params for pk in exclude)


def test_other_databases_are_refused(monkeypatch):
  monkeypatch.setattr(connection, "vendor", "oracle")

  with pytest.raises(NotImplementedError, match="oracle"):
    message_search_ids(customer_id=1, chat_id=1, query="x", limit=1)


def test_sqlite_query_terms_are_python_stems():
  from memory.search import _sqlite_query_terms

  assert _sqlite_query_terms("Доставкой на a@b.ru") == ["доставк", "a@b.ru"]
