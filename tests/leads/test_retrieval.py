"""Stemming and the scored keyword index behind FAQ and catalog search."""

import math

import pytest

from leads.retrieval import PREFIX_CREDIT, Index, stem_word, stems


def test_stems_drop_stop_words_and_unify_inflections():
  assert stems("Здравствуйте! Сколько стоят ваши сайты?") == ["скольк", "сто", "сайт"]
  assert stems("Сколько стоит сайт") == ["скольк", "сто", "сайт"]
  assert stems("How much do websites cost?") == ["much", "websit", "cost"]
  assert stems("Ёлки и елки") == ["елк", "елк"]


def test_stems_split_hyphens_and_keep_numbers():
  assert stems("интернет-магазин за 2 недели, landing_page") == [
    "интернет",
    "магазин",
    "недел",
    "land",
    "page",
  ]
  assert stems("42") == ["42"]


def test_stem_word_picks_the_language_by_script():
  assert (stem_word("сайты"), stem_word("websites")) == ("сайт", "websit")


def test_empty_query_or_index_finds_nothing():
  index = Index()
  assert index.search("сайт", 3) == []
  index.add("a", [("Сколько стоит сайт", 1.0)])
  assert index.search("и в на", 3) == []


def test_full_match_scores_one_and_partial_match_is_idf_weighted():
  # given
  index = Index()
  index.add("price", [("Сколько стоит сайт?", 1.0), ("Лендинг от 45 000", 0.6)])
  index.add("time", [("Сроки разработки сайта", 1.0)])

  # when
  found = index.search("сколько стоят сайты", 5)

  # then: "сайт" is in both documents, so it weighs less than the words only "price" has
  rare, common = math.log(1 + 2 / 2), math.log(1 + 2 / 3)
  assert found == [
    ("price", 1.0),
    ("time", round(common / (2 * rare + common), 4)),
  ]


def test_a_word_only_in_a_weaker_field_counts_less():
  index = Index()
  index.add("a", [("Оплата", 1.0), ("Принимаем карты", 0.6)])

  assert index.search("карта", 1) == [("a", 0.6)]


def test_prefix_related_stems_get_partial_credit():
  index = Index()
  index.add("a", [("разработка", 1.0)])  # stem "разработк"

  assert index.search("разработать", 1) == [("a", PREFIX_CREDIT)]  # stem "разработа"
  assert index.search("разработ", 1) == [("a", PREFIX_CREDIT)]


def test_short_or_different_stems_never_match_by_prefix():
  index = Index()
  index.add("a", [("стоит", 1.0), ("стоимость", 1.0)])  # stems "сто", "стоимост"

  assert index.search("стол", 1) == []
  assert index.search("стоимостной", 1) == [("a", PREFIX_CREDIT)]
  assert index.search("стоянка", 1) == []


@pytest.mark.parametrize("limit", [1, 2])
def test_limit_and_ties_are_stable(limit):
  index = Index()
  index.add("b", [("сайт", 1.0)])
  index.add("a", [("сайт", 1.0)])

  assert index.search("сайт", limit) == [("b", 1.0), ("a", 1.0)][:limit]
