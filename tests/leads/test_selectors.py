"""Reads for the engine: FAQ and catalog retrieval, scenarios, customers and leads."""

import math

import pytest

from leads import selectors
from leads.content import content_load
from leads.models import CatalogService, FAQEntry, Lead
from leads.selectors import (
  catalog_get,
  catalog_list,
  catalog_search,
  catalog_search_scored,
  content_languages,
  customer_get,
  faq_get,
  faq_list,
  faq_search,
  lead_get_open,
  lead_list_for_customer,
  scenario_get,
  scenario_list,
)
from tests.factories import customer_factory, faq_factory, lead_factory, service_factory

pytestmark = pytest.mark.django_db


def keys(found) -> list[str]:
  return [entry.key for entry, _score in found]


# --- retrieval quality on the shipped content ---------------------------------------------------
@pytest.mark.parametrize(
  ("language", "query", "expected"),
  [
    ("ru", "сколько стоит сайт", "website-price"),
    ("ru", "Сколько стоят сайты?", "website-price"),
    (
      "ru",
      "Здравствуйте! Подскажите, сколько примерно будет стоить сделать сайт для пекарни",
      "website-price",
    ),
    ("ru", "какие сроки разработки", "timeline"),
    ("ru", "можно ли оплатить в рассрочку", "payment"),
    ("ru", "как до вас доехать", "contacts"),
    ("ru", "хочу продвижение в яндексе", "seo"),
    ("ru", "поддерживаете сайты после запуска?", "support"),
    ("en", "how much is a website", "website-price"),
    ("en", "How much do websites cost?", "website-price"),
    ("en", "do you offer installment payments", "payment"),
    ("en", "how long does building an online store take", "timeline"),
    ("en", "can I edit prices myself", "cms-self-edit"),
  ],
)
def test_inflected_questions_find_the_right_entry_above_the_threshold(
  default_content, settings, language, query, expected
):
  found = faq_search(query=query, language=language)

  assert keys(found)[0] == expected
  assert found[0][1] >= settings.FAQ_FALLBACK_MIN_SCORE
  assert found[0][0].language == language


@pytest.mark.parametrize(
  ("language", "query"),
  [
    ("ru", "какая завтра погода в Москве"),
    ("ru", "привет"),
    ("ru", "рецепт борща"),
    ("en", "what's the weather tomorrow"),
    ("en", "recommend a good pizza place"),
  ],
)
def test_unrelated_questions_stay_below_the_threshold(default_content, settings, language, query):
  found = faq_search(query=query, language=language)

  assert all(score < settings.FAQ_FALLBACK_MIN_SCORE for _entry, score in found)


# --- faq_search mechanics -----------------------------------------------------------------------
def test_faq_search_scores_and_limit():
  # given
  faq_factory(key="price", question="Сколько стоит сайт?", answer="От 45 000 ₽.", keywords="цена")
  faq_factory(key="time", question="Сколько времени делается сайт?", answer="Месяц.")
  faq_factory(key="pay", question="Как оплатить?", answer="Картой.")

  # when
  found = faq_search(query="сколько стоят сайты", language="ru", limit=2)

  # then: "сто" is in one entry, "скольк" and "сайт" in two, so they weigh less
  common, rare = math.log(1 + 3 / 3), math.log(1 + 3 / 2)
  assert [(entry.key, score) for entry, score in found] == [
    ("price", 1.0),
    ("time", round(2 * common / (2 * common + rare), 4)),
  ]


def test_faq_search_ignores_inactive_entries_and_other_languages():
  faq_factory(key="ru-price", question="Сколько стоит сайт?")
  faq_factory(key="off", question="Сколько стоит сайт?", active=False)
  faq_factory(key="en-price", language="en", question="How much is a website?")

  assert keys(faq_search(query="сколько стоит сайт", language="ru")) == ["ru-price"]
  assert keys(faq_search(query="how much is a website", language="en")) == ["en-price"]


def test_faq_search_falls_back_to_the_language_that_has_entries(settings):
  settings.LANGUAGE_CODE = "ru"
  faq_factory(key="price", question="Сколько стоит сайт?")

  found = faq_search(query="сколько стоит сайт", language="en")

  assert keys(found) == ["price"]


def test_faq_search_with_no_faq_at_all():
  assert faq_search(query="сколько стоит сайт", language="ru") == []


def test_faq_index_follows_adds_edits_deactivation_and_deletes():
  # given
  entry = faq_factory(key="price", question="Сколько стоит сайт?")
  assert keys(faq_search(query="доставка", language="ru")) == []

  # an added entry is found
  faq_factory(key="delivery", question="Есть ли доставка?")
  assert keys(faq_search(query="доставка", language="ru")) == ["delivery"]
  # an edited entry is found by its new words
  entry.question = "Есть ли гарантия?"
  entry.save()
  assert keys(faq_search(query="гарантия", language="ru")) == ["price"]
  # a deactivated entry disappears (queryset.update does not touch updated_at: count changes)
  FAQEntry.objects.filter(key="delivery").update(active=False)
  assert keys(faq_search(query="доставка", language="ru")) == []
  # a deleted entry disappears
  FAQEntry.objects.filter(key="price").delete()
  assert keys(faq_search(query="гарантия", language="ru")) == []


def test_faq_index_is_reused_while_nothing_changes(django_assert_num_queries):
  faq_factory(key="price", question="Сколько стоит сайт?")
  faq_search(query="сайт", language="ru")
  index = selectors._faq.get().index("ru")

  # only the tables' change stamps are read: rows, languages and index come from the cache
  with django_assert_num_queries(1):
    assert keys(faq_search(query="сайт", language="ru")) == ["price"]
  assert selectors._faq.get().index("ru") is index


def test_faq_get_and_list():
  faq_factory(key="price", language="ru", question="Цены?")
  faq_factory(key="pay", language="ru", question="Оплата?", active=False)

  assert faq_get(key="price", language="en").question == "Цены?"
  assert faq_get(key="pay", language="ru") is None
  assert [e.key for e in faq_list(language="en")] == ["price"]


def test_content_languages_order(settings):
  settings.LANGUAGE_CODE = "ru"

  assert content_languages("en") == ["en", "ru"]
  assert content_languages("ru") == ["ru", "en"]


# --- catalog ------------------------------------------------------------------------------------
def test_catalog_list_is_active_services_of_the_language_in_order():
  service_factory(slug="b", name="Б", ordering=20)
  service_factory(slug="a", name="А", ordering=10)
  service_factory(slug="off", name="Выкл", active=False)
  service_factory(slug="en", name="English", language="en")

  assert [s.slug for s in catalog_list(language="ru")] == ["a", "b"]
  assert [s.slug for s in catalog_list(language="en")] == ["en"]


def test_catalog_falls_back_to_another_language(settings):
  settings.LANGUAGE_CODE = "ru"
  service_factory(slug="landing", name="Лендинг")

  assert [s.slug for s in catalog_list(language="en")] == ["landing"]
  assert catalog_get(slug="landing", language="en").name == "Лендинг"


def test_catalog_empty():
  assert catalog_list(language="ru") == []
  assert catalog_get(slug="x", language="ru") is None


def test_catalog_get_prefers_the_language_and_ignores_inactive():
  service_factory(slug="landing", name="Лендинг")
  service_factory(slug="landing", name="Landing page", language="en")
  service_factory(slug="old", name="Старое", active=False)

  assert catalog_get(slug="landing", language="en").name == "Landing page"
  assert catalog_get(slug="landing", language="ru").name == "Лендинг"
  assert catalog_get(slug="old", language="ru") is None


def test_catalog_search_ranks_by_name_then_description():
  service_factory(slug="landing", name="Лендинг", description="Одностраничный сайт под рекламу.")
  service_factory(slug="store", name="Интернет-магазин", description="Каталог, корзина, оплата.")
  service_factory(slug="bot", name="Telegram-бот", description="Бот для записи.")

  assert [
    s.slug for s in catalog_search(query="сколько стоит интернет магазин", language="ru")
  ] == ["store"]
  scored = catalog_search_scored(query="бот для магазина", language="ru")
  # a tie keeps the catalog's display order (ordering, then name: Latin before Cyrillic)
  assert [(s.slug, score) for s, score in scored] == [("bot", 0.5), ("store", 0.5)]
  assert [s.slug for s in catalog_search(query="бот для магазина", language="ru", limit=1)] == [
    "bot"
  ]


def test_catalog_search_limit():
  for n in range(5):
    service_factory(slug=f"site-{n}", name=f"Сайт {n}", ordering=n)

  assert len(catalog_search(query="сайт", language="ru", limit=4)) == 4
  assert [s.slug for s in catalog_search(query="сайт", language="ru")] == [
    "site-0",
    "site-1",
    "site-2",
  ]


def test_catalog_search_index_follows_edits():
  service = service_factory(slug="landing", name="Лендинг")
  assert catalog_search(query="визитка", language="ru") == []

  service.name = "Сайт-визитка"
  service.save()

  assert [s.slug for s in catalog_search(query="визитка", language="ru")] == ["landing"]
  # one index per language: the old version's is replaced, not kept
  assert selectors._catalog_indexes["ru"][0] == ((service.pk, service.updated_at),)


def test_catalog_search_on_the_shipped_content(default_content):
  assert catalog_search(query="нужен бот для телеграма", language="ru")[0].slug == "telegram-bot"
  assert catalog_search(query="online store price", language="en")[0].slug == "online-store"
  assert catalog_search(query="погода", language="ru") == []


# --- scenarios ----------------------------------------------------------------------------------
def test_scenarios_by_language_with_fallback(default_content):
  assert [s.key for s in scenario_list(language="en")] == ["choose-service", "estimate"]
  assert scenario_get(key="estimate", language="en").title == "Estimate budget and timeline"
  assert scenario_get(key="estimate", language="ru").steps[1]["key"] == "budget"
  assert scenario_get(key="nope", language="ru") is None


def test_scenario_list_falls_back_and_skips_inactive(settings):
  from leads.models import Scenario

  settings.LANGUAGE_CODE = "ru"
  Scenario.objects.create(key="a", language="ru", title="А", steps=[{"key": "x", "question": "?"}])
  Scenario.objects.create(key="b", language="ru", title="Б", steps=[], active=False)

  assert [s.key for s in scenario_list(language="en")] == ["a"]
  assert scenario_get(key="a", language="en").title == "А"
  assert scenario_get(key="b", language="ru") is None


def test_scenario_list_empty():
  assert scenario_list(language="ru") == []


# --- customers and leads ------------------------------------------------------------------------
def test_customer_get():
  customer = customer_factory(channel="telegram", external_id="42")

  assert customer_get(channel="telegram", external_id=42) == customer
  assert customer_get(channel="console", external_id="42") is None


def test_lead_get_open_is_the_latest_lead_not_won_or_lost():
  customer = customer_factory()
  assert lead_get_open(customer=customer) is None
  older = lead_factory(customer=customer, stage=Lead.Stage.QUALIFIED)
  lead_factory(customer=customer, stage=Lead.Stage.WON)
  lead_factory(customer=customer_factory(), stage=Lead.Stage.NEW)

  assert lead_get_open(customer=customer) == older
  newer = lead_factory(customer=customer, stage=Lead.Stage.CONTACTED)
  assert lead_get_open(customer=customer) == newer


def test_lead_get_open_ignores_lost_leads():
  customer = customer_factory()
  lead_factory(customer=customer, stage=Lead.Stage.LOST)

  assert lead_get_open(customer=customer) is None


def test_lead_list_for_customer_newest_first():
  customer = customer_factory()
  first = lead_factory(customer=customer, stage=Lead.Stage.WON)
  second = lead_factory(customer=customer)

  assert lead_list_for_customer(customer=customer) == [second, first]


def test_catalog_service_rows_come_back_as_model_instances():
  service_factory(slug="landing", name="Лендинг")

  assert isinstance(catalog_list(language="ru")[0], CatalogService)


# --- caching ------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_an_edit_from_another_process_applies_within_a_second(settings, cache_clock):
  # given: production's reload interval; the FAQ was read a moment ago
  settings.CONTENT_RELOAD_SECONDS = 5
  entry = faq_factory(key="price", question="Сколько стоит сайт?")
  assert keys(faq_search(query="гарантия", language="ru")) == []

  # when: the admin (another process: nothing tells this one) edits the entry
  entry.question = "Есть ли гарантия?"
  entry.save()

  # then: the cached rows serve for at most a second more
  assert keys(faq_search(query="гарантия", language="ru")) == []
  cache_clock[0] += 1
  assert keys(faq_search(query="гарантия", language="ru")) == ["price"]


@pytest.mark.django_db(transaction=True)
def test_a_content_file_reload_applies_at_once(settings, cache_clock, write_content):
  # given: production's reload interval; the shipped-like content was read
  settings.CONTENT_RELOAD_SECONDS = 5
  path = write_content()
  assert keys(faq_search(query="доставка курьером", language="ru")) == []

  # when: the file gains an entry and this process reloads it
  text = path.read_text(encoding="utf-8").replace(
    "faq:\n",
    "faq:\n  - key: delivery\n    ru:\n      question: Есть ли доставка курьером?\n"
    "      answer: Да.\n",
    1,
  )
  content_load(path=write_content(text))

  # then: no waiting for the next stamps read
  assert keys(faq_search(query="доставка курьером", language="ru")) == ["delivery"]


@pytest.mark.django_db(transaction=True)
def test_cached_rows_are_shared_between_calls(settings, cache_clock, django_assert_num_queries):
  settings.CONTENT_RELOAD_SECONDS = 5
  service_factory(slug="landing", name="Лендинг")
  faq_factory(key="price", question="Сколько стоит сайт?")
  first = catalog_list(language="ru")[0]
  faq_get(key="price", language="ru")
  scenario_list(language="ru")

  # every read below comes from the caches: no query at all
  with django_assert_num_queries(0):
    assert catalog_list(language="ru")[0] is first
    assert catalog_get(slug="landing", language="ru") is first
    assert faq_get(key="price", language="ru").key == "price"
    assert scenario_list(language="ru") == []
