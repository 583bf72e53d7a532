"""Validation of the content file: every problem named with file, section, item and field."""

from decimal import Decimal

import pytest

from leads.content_schema import (
  ContentError,
  FAQItem,
  PromptItem,
  ScenarioItem,
  ServiceItem,
  content_parse,
  content_parse_file,
  scenario_steps_parse,
  services_parse,
)
from tests.leads.conftest import SMALL_CONTENT


def problems(text: str) -> list[str]:
  with pytest.raises(ContentError) as caught:
    content_parse(text, source="c.yaml")
  return caught.value.problems


def test_parse_small_content_gives_one_item_per_key_and_language():
  # when
  content = content_parse(SMALL_CONTENT, source="c.yaml")

  # then
  assert content.prompts[0] == PromptItem("system", "ru", "Ты консультант студии «Пиксель».")
  assert [(p.key, p.language) for p in content.prompts] == [
    ("system", "ru"),
    ("system", "en"),
    ("greeting", "ru"),
    ("greeting", "en"),
  ]
  assert content.faq[0] == FAQItem(
    "price", "ru", "Сколько стоит сайт?", "Лендинг — от 45 000 ₽.", "цена, стоимость", True
  )
  assert content.faq[2].keywords == ""
  assert content.catalog == [
    ServiceItem("landing", "ru", "Лендинг", "Одностраничный сайт.", Decimal("45000.00"), "RUB", 10),
    ServiceItem(
      "landing", "en", "Landing page", "A one-page site.", Decimal("45000.00"), "RUB", 10
    ),
    ServiceItem("support", "ru", "Поддержка", "", Decimal("15000.50"), "RUB", 5),
  ]
  assert content.scenarios[1] == ScenarioItem(
    "budget",
    "en",
    "Budget",
    [
      {"key": "budget", "question": "What budget?", "options": ["Under 50k", "More"]},
      {"key": "about", "question": "Tell me about the task", "options": []},
    ],
  )


def test_empty_file_is_valid_and_empty():
  content = content_parse("", source="c.yaml")

  assert (content.prompts, content.faq, content.catalog, content.scenarios) == ([], [], [], [])


def test_shipped_default_content_is_valid(settings):
  content = content_parse_file(settings.BASE_DIR / "content" / "default.yaml")

  assert len(content.faq) >= 20
  assert {item.language for item in content.faq} == {"ru", "en"}
  assert 10 <= len(content.catalog) <= 16
  assert {s.key for s in content.scenarios} == {"choose-service", "estimate"}
  assert {p.key for p in content.prompts} >= {"system", "greeting", "consent", "help"}


def test_unreadable_file_is_a_content_error(tmp_path):
  with pytest.raises(ContentError) as caught:
    content_parse_file(tmp_path / "missing.yaml")

  assert caught.value.problems[0].startswith(f"{tmp_path / 'missing.yaml'}: cannot be read (")


def test_yaml_syntax_error_names_line_and_gives_a_hint():
  text = "faq:\n  - key: a\n    ru:\n      question: x\n      answer: Yes, warranty: 6 months\n"

  assert problems(text) == [
    "c.yaml: line 5, column 28: not valid YAML: mapping values are not allowed here "
    "(put a text that contains ': ' in quotes)"
  ]


def test_yaml_error_without_position():
  import yaml

  from leads.content_schema import _yaml_problem

  assert _yaml_problem(yaml.YAMLError("odd")) == "not valid YAML: odd"


@pytest.mark.parametrize(
  ("text", "expected"),
  [
    (
      "- a\n",
      "c.yaml: top level: expected a mapping with sections prompts, faq, catalog, scenarios",
    ),
    (
      "faqs: []\n",
      "c.yaml: section 'faqs': unknown section (expected one of prompts, faq, catalog, scenarios)",
    ),
    ("version: 2\n", "c.yaml: version: unsupported version 2 (expected 1)"),
    ("prompts: [a]\n", "c.yaml: prompts: expected a mapping of prompt key -> {language: text}"),
    (
      "prompts:\n  Bad Key: {ru: x}\n",
      "c.yaml: prompts.Bad Key: 'Bad Key' is not a code of latin letters, digits, '-' or '_' (max 100)",
    ),
    (
      "prompts:\n  greeting: hello\n",
      "c.yaml: prompts.greeting: expected a mapping of language -> text, e.g. {ru: ..., en: ...}",
    ),
    (
      "prompts:\n  greeting: {de: Hallo}\n",
      "c.yaml: prompts.greeting.de: unknown language 'de' (expected ru or en)",
    ),
    ("prompts:\n  greeting: {ru: ''}\n", "c.yaml: prompts.greeting.ru: is empty"),
    ("prompts:\n  greeting: {ru: 5}\n", "c.yaml: prompts.greeting.ru: expected text, got int"),
    ("faq: {a: 1}\n", "c.yaml: faq: expected a list of items"),
    ("faq: [text]\n", "c.yaml: faq[0]: expected a mapping"),
    ("faq:\n  - ru: {question: q, answer: a}\n", "c.yaml: faq[0]: 'key' is missing"),
    ("faq:\n  - key: a\n", "c.yaml: faq[0] (key 'a'): no language block (ru or en)"),
    (
      "faq:\n  - key: A b\n    ru: {question: q, answer: a}\n",
      "c.yaml: faq[0] (key 'A b'): 'A b' is not a code of latin letters, digits, '-' or '_' (max 100)",
    ),
    (
      "faq:\n  - key: a\n    ru: text\n",
      "c.yaml: faq[0] (key 'a'): ru: expected a mapping of fields",
    ),
    (
      "faq:\n  - key: a\n    fr: {question: q, answer: a}\n    ru: {question: q, answer: a}\n",
      "c.yaml: faq[0] (key 'a'): unknown field 'fr' (expected key, active, ru, en)",
    ),
    (
      "faq:\n  - key: a\n    ru: {question: q}\n",
      "c.yaml: faq[0] (key 'a'): ru.answer: is missing",
    ),
    (
      "faq:\n  - key: a\n    ru: {question: q, answer: a, answr: b}\n",
      "c.yaml: faq[0] (key 'a'): ru: unknown field 'answr' (expected answer, keywords, question)",
    ),
    (
      "faq:\n  - key: a\n    ru: {question: q, answer: a, keywords: 5}\n",
      "c.yaml: faq[0] (key 'a'): ru.keywords: expected a list of words or a text",
    ),
    (
      "faq:\n  - key: a\n    active: maybe\n    ru: {question: q, answer: a}\n",
      "c.yaml: faq[0] (key 'a'): active: 'maybe' is not true or false",
    ),
    (
      "faq:\n  - key: a\n    ru: {question: q, answer: a}\n  - key: a\n    ru: {question: q, answer: a}\n",
      "c.yaml: faq[1] (key 'a'): duplicate key",
    ),
    (
      f"faq:\n  - key: a\n    ru: {{question: q, answer: {'x' * 10001}}}\n",
      "c.yaml: faq[0] (key 'a'): ru.answer: is longer than 10000 characters",
    ),
    (
      "catalog:\n  - slug: s\n    price: cheap\n    ru: {name: n}\n",
      "c.yaml: catalog[0] (slug 's'): price: 'cheap' is not a number",
    ),
    (
      "catalog:\n  - slug: s\n    price: true\n    ru: {name: n}\n",
      "c.yaml: catalog[0] (slug 's'): price: True is not a number",
    ),
    (
      "catalog:\n  - slug: s\n    price: -1\n    ru: {name: n}\n",
      "c.yaml: catalog[0] (slug 's'): price: -1 is out of range (0 to 9999999999.99)",
    ),
    (
      "catalog:\n  - slug: s\n    currency: rub\n    ru: {name: n}\n",
      "c.yaml: catalog[0] (slug 's'): currency: 'rub' is not a 3-letter code such as RUB",
    ),
    (
      "catalog:\n  - slug: s\n    order: first\n    ru: {name: n}\n",
      "c.yaml: catalog[0] (slug 's'): order: 'first' is not a whole number >= 0",
    ),
    (
      "catalog:\n  - slug: s\n    ru: {description: d}\n",
      "c.yaml: catalog[0] (slug 's'): ru.name: is missing",
    ),
    (
      f"catalog:\n  - slug: s\n    ru: {{name: {'n' * 201}}}\n",
      "c.yaml: catalog[0] (slug 's'): ru.name: is longer than 200 characters",
    ),
    (
      "scenarios:\n  - key: s\n    ru: {title: t}\n",
      "c.yaml: scenarios[0] (key 's'): ru.steps: expected a non-empty list of steps",
    ),
    (
      "scenarios:\n  - key: s\n    ru: {title: t, steps: [x]}\n",
      "c.yaml: scenarios[0] (key 's'): ru.steps[0]: expected a mapping with key, question and optional options",
    ),
    (
      "scenarios:\n  - key: s\n    ru: {title: t, steps: [{question: q}]}\n",
      "c.yaml: scenarios[0] (key 's'): ru.steps[0]: 'key' is missing",
    ),
    (
      "scenarios:\n  - key: s\n    ru: {title: t, steps: [{key: a, question: q}, {key: a, question: q}]}\n",
      "c.yaml: scenarios[0] (key 's'): ru.steps[1].key: duplicate step key 'a'",
    ),
    (
      "scenarios:\n  - key: s\n    ru: {title: t, steps: [{key: a, question: q, options: x}]}\n",
      "c.yaml: scenarios[0] (key 's'): ru.steps[0].options: expected a list of non-empty texts",
    ),
    (
      f"scenarios:\n  - key: s\n    ru: {{title: t, steps: [{{key: a, question: q, options: [{'o' * 101}]}}]}}\n",
      "c.yaml: scenarios[0] (key 's'): ru.steps[0].options: an option is longer than 100 characters (it is a button label)",
    ),
    (
      "scenarios:\n  - key: s\n    ru: {title: t, steps: [{key: a, question: q, hint: h}]}\n",
      "c.yaml: scenarios[0] (key 's'): ru.steps[0]: unknown field 'hint' (expected key, options, question)",
    ),
    (
      "scenarios:\n  - key: s\n    ru: {title: t, steps: [{key: a, question: q}]}\n    en: {title: t, steps: [{key: b, question: q}]}\n",
      "c.yaml: scenarios[0] (key 's'): the step keys must be the same, in the same order, in every language",
    ),
  ],
)
def test_each_validation_problem_is_reported_exactly(text, expected):
  assert problems(text) == [expected]


def test_keywords_may_be_a_text():
  content = content_parse(
    "faq:\n  - key: a\n    en: {question: q, answer: a, keywords: ' price, cost '}\n", source="c"
  )

  assert content.faq[0].keywords == "price, cost"


def test_all_problems_are_reported_together():
  text = "faq:\n  - key: a\n    ru: {question: q}\n  - key: b\n    en: {answer: a}\ncatalog: 5\n"

  assert problems(text) == [
    "c.yaml: faq[0] (key 'a'): ru.answer: is missing",
    "c.yaml: faq[1] (key 'b'): en.question: is missing",
    "c.yaml: catalog: expected a list of items",
  ]


def test_content_error_message_lists_every_problem():
  error = ContentError(["a: one", "b: two"])

  assert str(error) == "a: one\nb: two"


def test_services_feed_uses_the_catalog_format():
  items = services_parse(
    {"services": [{"slug": "seo", "price": 25000, "en": {"name": "SEO"}}]}, source="http://x"
  )

  assert items == [ServiceItem("seo", "en", "SEO", "", Decimal("25000.00"), "RUB", 10)]


@pytest.mark.parametrize(
  ("data", "expected"),
  [
    ([], 'http://x: expected a JSON object {"services": [...]}'),
    ({"items": []}, 'http://x: expected a JSON object {"services": [...]}'),
    (
      {"services": [{"slug": "a"}]},
      "http://x: services[0] (slug 'a'): no language block (ru or en)",
    ),
  ],
)
def test_invalid_services_feed(data, expected):
  with pytest.raises(ContentError) as caught:
    services_parse(data, source="http://x")

  assert caught.value.problems == [expected]


def test_scenario_steps_parse_for_the_admin_form():
  steps = scenario_steps_parse([{"key": "budget", "question": " Budget? ", "options": ["a"]}])

  assert steps == [{"key": "budget", "question": "Budget?", "options": ["a"]}]
  with pytest.raises(ContentError) as caught:
    scenario_steps_parse([{"key": "budget", "options": [""]}])
  assert caught.value.problems == [
    "steps[0].question: is missing",
    "steps[0].options: expected a list of non-empty texts",
  ]
