import pytest
from django.db import connection

from memory.search_text import (
  fts_term,
  query_terms,
  scoped_term,
  search_terms,
  sqlite_index_text,
)


@pytest.mark.parametrize(
  ("words", "term"),
  [
    (["доставка", "доставку", "доставкой", "Доставки"], "доставк"),
    (["delivery", "deliveries", "Delivery"], "deliveri"),
    (["running", "runs"], "run"),
    (["ёлка", "елка"], "елк"),
  ],
)
def test_inflected_forms_share_one_term(words, term):
  assert {tuple(search_terms(word)) for word in words} == {(term,)}


def test_stop_words_are_dropped_in_both_languages():
  assert search_terms("и в the of а что") == []


def test_special_tokens_stay_whole():
  assert search_terms("ivan@mail.ru example.com 12.5 -19") == [
    "ivan@mail.ru",
    "example.com",
    "12.5",
    "-19",
  ]
  assert search_terms("https://example.com/a?b=1") == ["example.com/a?b=1", "example.com", "/a?b=1"]


def test_hyphenated_english_words_are_stemmed_whole():
  assert search_terms("price-lists") == ["price-list", "price", "list"]


def test_hyphenated_words_are_indexed_whole_and_by_parts():
  assert search_terms("интернет-магазин covid-19") == [
    "интернет-магазин",
    "интернет",
    "магазин",
    "covid",
    "-19",
  ]
  assert search_terms("mp3-плеер") == ["mp3-плеер", "mp3", "плеер"]


def test_overlong_tokens_are_not_indexed():
  assert search_terms("x" * 101 + " ok-" + "y" * 101 + " fine") == ["fine"]


def test_query_terms_are_distinct_and_most_specific_first():
  assert query_terms("cat доставка cats доставкой dogs", limit=3) == ["доставк", "cat", "dog"]
  assert query_terms("dogs cats", limit=1) == ["cat"]  # equal length: alphabetical


def test_fts_terms_are_single_tokens_and_scope_is_unique():
  assert fts_term("доставк") == "доставк"
  assert fts_term("a@b.ru") == "a_40_b_2e_ru"
  assert scoped_term("a@b.ru", chat_id=3, customer_id=45) == "s3_45_a_40_b_2e_ru"
  # distinct terms, in order of appearance
  assert (
    sqlite_index_text(3, 45, "Доставка доставкой, a@b.ru!") == "s3_45_доставк s3_45_a_40_b_2e_ru"
  )
  assert sqlite_index_text(None, None, None) == ""


PARITY_SAMPLES = [
  "Сколько стоит доставка в Москву? Доставкой курьером, пожалуйста.",
  "I need deliveries of 12 boxes, delivery by Friday!",
  "интернет-магазин e-mail covid-19 ёлка Ёжик mp3-плеер 3d-печать",
  "Цена 12.5 тыс руб, 3,5 кг, версия 1.2.3, -5 градусов, 10-20",
  "Наш сайт example.com и почта a@b.ru, Ivan.Petrov@Mail.RU",
  "see https://Example.com/a/b?x=1 and http://foo.org, or https://x.ru/p.",
  "Don't you think it's the best price-list? Красивейший длинный-длинный день",
  "file.txt под_черк snake_case x2 A1B2 RUNNING runners ran",
]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares with PostgreSQL")
@pytest.mark.parametrize("text", PARITY_SAMPLES)
def test_python_terms_equal_postgresql_russian_configuration(text):
  with connection.cursor() as cursor:
    cursor.execute("SELECT lexeme FROM unnest(to_tsvector('russian', %s))", [text])
    postgres = {row[0] for row in cursor.fetchall()}

  assert set(search_terms(text)) == postgres
