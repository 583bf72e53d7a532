"""Parsing and validation of the content file (YAML) into plain items, before anything is written.

Every problem is collected and reported together, each naming the file, the section, the item
and what is wrong, e.g. `content.yaml: faq[3] (key 'prices'): en.answer: is missing`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

SECTIONS = ("prompts", "faq", "catalog", "scenarios")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PRICE = Decimal("9999999999.99")  # CatalogService.price: 12 digits, 2 after the point


class ContentError(Exception):
  """The content file (or a catalog feed) is invalid; `problems` lists every problem found."""

  def __init__(self, problems: list[str]) -> None:
    self.problems = problems
    super().__init__("\n".join(problems))


@dataclass(frozen=True)
class PromptItem:
  key: str
  language: str
  text: str
  active: bool = True


@dataclass(frozen=True)
class FAQItem:
  key: str
  language: str
  question: str
  answer: str
  keywords: str = ""
  active: bool = True


@dataclass(frozen=True)
class ServiceItem:
  slug: str
  language: str
  name: str
  description: str = ""
  price: Decimal | None = None
  currency: str = "RUB"
  ordering: int = 100
  active: bool = True


@dataclass(frozen=True)
class ScenarioItem:
  key: str
  language: str
  title: str
  steps: list = field(default_factory=list)
  active: bool = True


@dataclass
class Content:
  """Everything a content file defines, one item per (key, language)."""

  prompts: list[PromptItem] = field(default_factory=list)
  faq: list[FAQItem] = field(default_factory=list)
  catalog: list[ServiceItem] = field(default_factory=list)
  scenarios: list[ScenarioItem] = field(default_factory=list)


def languages() -> list[str]:
  return [code for code, _name in settings.LANGUAGES]


def content_parse_file(path: Path) -> Content:
  """Read and validate a content file; raises ContentError naming every problem."""
  try:
    text = path.read_text(encoding="utf-8")
  except (OSError, UnicodeDecodeError) as error:
    raise ContentError([f"{path}: cannot be read ({error})"]) from None
  return content_parse(text, source=str(path))


def content_parse(text: str, *, source: str) -> Content:
  """Validate the YAML `text` (named `source` in errors) fully, then return its items."""
  try:
    data = yaml.safe_load(text)
  except yaml.YAMLError as error:
    raise ContentError([f"{source}: {_yaml_problem(error)}"]) from None
  checker = _Checker(source)
  content = checker.document(data if data is not None else {})
  if checker.problems:
    raise ContentError(checker.problems)
  return content


def services_parse(data: Any, *, source: str) -> list[ServiceItem]:
  """Validate a catalog feed `{"services": [...]}` (same item format as the file's catalog)."""
  checker = _Checker(source)
  if not isinstance(data, dict) or not isinstance(data.get("services"), list):
    raise ContentError([f'{source}: expected a JSON object {{"services": [...]}}'])
  items = checker.catalog(data["services"], section="services")
  if checker.problems:
    raise ContentError(checker.problems)
  return items


def scenario_steps_parse(data: Any) -> list[dict]:
  """Validate a scenario's steps by the file's rules (for the admin form); raises ContentError.

  Each problem reads "steps[1].options: expected a list of non-empty texts".
  """
  checker = _Checker("")
  steps = checker.steps("steps", data)
  if checker.problems:
    raise ContentError([problem.removeprefix(": ") for problem in checker.problems])
  return steps


def _yaml_problem(error: yaml.YAMLError) -> str:
  mark = getattr(error, "problem_mark", None)
  where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
  problem = getattr(error, "problem", None) or str(error)
  hint = " (put a text that contains ': ' in quotes)" if "mapping values" in problem else ""
  return f"{where}not valid YAML: {' '.join(problem.split())}{hint}"


class _Checker:
  """Walks the parsed YAML, collecting problems instead of stopping at the first one."""

  def __init__(self, source: str) -> None:
    self.source = source
    self.problems: list[str] = []

  def problem(self, where: str, message: str) -> None:
    self.problems.append(f"{self.source}: {where}: {message}")

  def document(self, data: Any) -> Content:
    if not isinstance(data, dict):
      self.problem("top level", "expected a mapping with sections " + ", ".join(SECTIONS))
      return Content()
    for key in data:
      if key not in (*SECTIONS, "version"):
        self.problem(
          f"section '{key}'", "unknown section (expected one of " + ", ".join(SECTIONS) + ")"
        )
    if data.get("version", 1) != 1:
      self.problem("version", f"unsupported version {data['version']!r} (expected 1)")
    return Content(
      prompts=self.prompts(data.get("prompts") or {}),
      faq=self.faq(data.get("faq") or []),
      catalog=self.catalog(data.get("catalog") or []),
      scenarios=self.scenarios(data.get("scenarios") or []),
    )

  # --- sections ---------------------------------------------------------------------------------
  def prompts(self, data: Any) -> list[PromptItem]:
    if not isinstance(data, dict):
      self.problem("prompts", "expected a mapping of prompt key -> {language: text}")
      return []
    items = []
    for key, texts in data.items():
      where = f"prompts.{key}"
      if not self.slug(where, key):
        continue
      if not isinstance(texts, dict) or not texts:
        self.problem(where, "expected a mapping of language -> text, e.g. {ru: ..., en: ...}")
        continue
      for language, text in texts.items():
        if self.language(f"{where}.{language}", language) and self.text(
          f"{where}.{language}", text
        ):
          items.append(PromptItem(key=key, language=language, text=text.strip()))
    return items

  def faq(self, data: Any) -> list[FAQItem]:
    items = []
    for where, entry, key in self.entries("faq", data, "key"):
      active = self.flag(where, entry)
      for language, block in self.translations(where, entry, ("key", "active")):
        at = f"{where}: {language}"
        self.unknown(at, block, {"question", "answer", "keywords"})
        question = self.text(f"{at}.question", block.get("question"), limit=2000)
        answer = self.text(f"{at}.answer", block.get("answer"), limit=10000)
        keywords = self.keywords(f"{at}.keywords", block.get("keywords"))
        if question and answer and keywords is not None:
          items.append(FAQItem(key, language, question.strip(), answer.strip(), keywords, active))
    return items

  def catalog(self, data: Any, *, section: str = "catalog") -> list[ServiceItem]:
    items = []
    shared = ("slug", "price", "currency", "order", "active")
    for index, (where, entry, slug) in enumerate(self.entries(section, data, "slug")):
      active = self.flag(where, entry)
      price = self.price(f"{where}: price", entry.get("price"))
      currency = entry.get("currency", "RUB")
      if not isinstance(currency, str) or not _CURRENCY.match(currency):
        self.problem(f"{where}: currency", f"{currency!r} is not a 3-letter code such as RUB")
      order = entry.get("order", (index + 1) * 10)
      if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        self.problem(f"{where}: order", f"{order!r} is not a whole number >= 0")
      for language, block in self.translations(where, entry, shared):
        at = f"{where}: {language}"
        self.unknown(at, block, {"name", "description"})
        name = self.text(f"{at}.name", block.get("name"), limit=200)
        description = self.text(f"{at}.description", block.get("description", ""), empty=True)
        if name and description is not None:
          items.append(
            ServiceItem(
              slug, language, name.strip(), description.strip(), price, currency, order, active
            )
          )
    return items

  def scenarios(self, data: Any) -> list[ScenarioItem]:
    items = []
    for where, entry, key in self.entries("scenarios", data, "key"):
      active = self.flag(where, entry)
      step_keys: dict[str, list[str]] = {}
      for language, block in self.translations(where, entry, ("key", "active")):
        at = f"{where}: {language}"
        self.unknown(at, block, {"title", "steps"})
        title = self.text(f"{at}.title", block.get("title"), limit=200)
        steps = self.steps(f"{at}.steps", block.get("steps"))
        if title and steps:
          step_keys[language] = [step["key"] for step in steps]
          items.append(ScenarioItem(key, language, title.strip(), steps, active))
      if len({tuple(keys) for keys in step_keys.values()}) > 1:
        self.problem(where, "the step keys must be the same, in the same order, in every language")
    return items

  # --- items ------------------------------------------------------------------------------------
  def entries(self, section: str, data: Any, id_field: str):
    """(where, mapping, id) of each well-formed item of a list section; duplicates reported."""
    if not isinstance(data, list):
      self.problem(section, "expected a list of items")
      return
    seen: set[str] = set()
    for position, entry in enumerate(data):
      where = f"{section}[{position}]"
      if not isinstance(entry, dict):
        self.problem(where, "expected a mapping")
        continue
      value = entry.get(id_field)
      if value is None:
        self.problem(where, f"'{id_field}' is missing")
        continue
      where = f"{where} ({id_field} '{value}')"
      if not self.slug(where, value):
        continue
      if value in seen:
        self.problem(where, f"duplicate {id_field}")
        continue
      seen.add(value)
      yield where, entry, value

  def translations(self, where: str, entry: dict, shared: tuple[str, ...]):
    """(language, block) pairs of an item; other keys must be shared fields."""
    found = False
    for name, block in entry.items():
      if name in shared:
        continue
      if name not in languages():
        self.problem(
          where, f"unknown field '{name}' (expected {', '.join(shared + tuple(languages()))})"
        )
        continue
      found = True
      if not isinstance(block, dict):
        self.problem(f"{where}: {name}", "expected a mapping of fields")
        continue
      yield name, block
    if not found:
      self.problem(where, f"no language block ({' or '.join(languages())})")

  def steps(self, where: str, data: Any) -> list[dict]:
    if not isinstance(data, list) or not data:
      self.problem(where, "expected a non-empty list of steps")
      return []
    steps, seen = [], set()
    for position, step in enumerate(data):
      at = f"{where}[{position}]"
      if not isinstance(step, dict):
        self.problem(at, "expected a mapping with key, question and optional options")
        continue
      self.unknown(at, step, {"key", "question", "options"})
      key = step.get("key")
      question = self.text(f"{at}.question", step.get("question"), limit=1000)
      options = self.options(f"{at}.options", step.get("options", []))
      if key is None:
        self.problem(at, "'key' is missing")
      elif self.slug(f"{at}.key", key) and key in seen:
        self.problem(f"{at}.key", f"duplicate step key '{key}'")
      elif question and options is not None and key not in seen:
        seen.add(key)
        steps.append({"key": key, "question": question.strip(), "options": options})
    return steps

  def options(self, where: str, data: Any) -> list[str] | None:
    if not isinstance(data, list) or not all(isinstance(o, str) and o.strip() for o in data):
      self.problem(where, "expected a list of non-empty texts")
      return None
    if any(len(option) > 100 for option in data):
      self.problem(where, "an option is longer than 100 characters (it is a button label)")
      return None
    return [option.strip() for option in data]

  # --- values -----------------------------------------------------------------------------------
  def slug(self, where: str, value: Any) -> bool:
    if not isinstance(value, str) or not _SLUG.match(value) or len(value) > 100:
      self.problem(where, f"{value!r} is not a code of latin letters, digits, '-' or '_' (max 100)")
      return False
    return True

  def language(self, where: str, value: Any) -> bool:
    if value not in languages():
      self.problem(where, f"unknown language {value!r} (expected {' or '.join(languages())})")
      return False
    return True

  def text(self, where: str, value: Any, *, limit: int = 20000, empty: bool = False) -> str | None:
    if value is None:
      self.problem(where, "is missing")
    elif not isinstance(value, str):
      self.problem(where, f"expected text, got {type(value).__name__}")
    elif not value.strip() and not empty:
      self.problem(where, "is empty")
    elif len(value.strip()) > limit:
      self.problem(where, f"is longer than {limit} characters")
    else:
      return value
    return None

  def keywords(self, where: str, value: Any) -> str | None:
    if value is None:
      return ""
    if isinstance(value, str):
      return value.strip()
    if isinstance(value, list) and all(isinstance(word, str) for word in value):
      return ", ".join(word.strip() for word in value if word.strip())
    self.problem(where, "expected a list of words or a text")
    return None

  def price(self, where: str, value: Any) -> Decimal | None:
    if value is None:
      return None
    try:
      if isinstance(value, bool):
        raise InvalidOperation
      price = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
      self.problem(where, f"{value!r} is not a number")
      return None
    if not 0 <= price <= MAX_PRICE:
      self.problem(where, f"{value!r} is out of range (0 to {MAX_PRICE})")
      return None
    return price

  def flag(self, where: str, entry: dict) -> bool:
    value = entry.get("active", True)
    if not isinstance(value, bool):
      self.problem(f"{where}: active", f"{value!r} is not true or false")
      return True
    return value

  def unknown(self, where: str, block: dict, allowed: set[str]) -> None:
    for name in block:
      if name not in allowed:
        self.problem(where, f"unknown field '{name}' (expected {', '.join(sorted(allowed))})")
