"""Reads for the conversation engine and the admin: FAQ, catalog, scenarios, customers, leads.

Every content read first calls `content_reload_if_changed()` (a cheap, throttled stat of the
content file), so an edited content file takes effect on the next message without a restart.
The rows themselves come from process-wide caches (leads/cache.py) that follow the tables' change
stamps, so admin edits apply within a second (at once in this process) and a turn costs no FAQ,
catalog or scenario query; the search indexes are rebuilt when their rows change.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.conf import settings

from leads.cache import Cached
from leads.content import content_reload_if_changed
from leads.models import CatalogService, Customer, FAQEntry, Lead, Scenario
from leads.retrieval import Index
from leads.sources import catalog_source

OPEN_STAGES = (Lead.Stage.NEW, Lead.Stage.QUALIFIED, Lead.Stage.CONTACTED)
# Field weights: a word in the question (or a service's name) says more than one in the answer.
FAQ_FIELDS = (("question", 1.0), ("keywords", 1.0), ("answer", 0.6))
SERVICE_FIELDS = (("name", 1.0), ("slug", 0.8), ("description", 0.6))


def content_languages(language: str) -> list[str]:
  """`language` first, then the default language, then the other configured ones."""
  codes = [language, settings.LANGUAGE_CODE] + [code for code, _name in settings.LANGUAGES]
  return list(dict.fromkeys(codes))


# --- FAQ ----------------------------------------------------------------------------------------
@dataclass
class _Faq:
  """The active FAQ entries by language and by key, with a search index per language."""

  by_language: dict[str, list[FAQEntry]] = field(default_factory=dict)
  by_key: dict[str, dict[str, FAQEntry]] = field(default_factory=dict)
  by_pk: dict[int, FAQEntry] = field(default_factory=dict)
  indexes: dict[str, Index] = field(default_factory=dict)
  lock: threading.Lock = field(default_factory=threading.Lock)

  def index(self, language: str) -> Index:
    with self.lock:
      if language not in self.indexes:
        index = Index()
        for entry in self.by_language.get(language, []):
          texts = (entry.question, entry.keywords, entry.answer)
          index.add(entry.pk, zip(texts, (w for _f, w in FAQ_FIELDS), strict=True))
        self.indexes[language] = index
      return self.indexes[language]


def _faq_build() -> _Faq:
  faq = _Faq()
  for entry in FAQEntry.objects.filter(active=True):
    faq.by_language.setdefault(entry.language, []).append(entry)
    faq.by_key.setdefault(entry.key, {})[entry.language] = entry
    faq.by_pk[entry.pk] = entry
  return faq


_faq = Cached("faq", build=_faq_build)


def faq_list(*, language: str) -> list[FAQEntry]:
  """Active FAQ entries in `language` (or the nearest language that has any)."""
  content_reload_if_changed()
  faq = _faq.get()
  return list(faq.by_language.get(_faq_language(faq, language), []))


def faq_get(*, key: str, language: str) -> FAQEntry | None:
  """The active entry `key` in `language`, else in the nearest language that has it."""
  content_reload_if_changed()
  rows = _faq.get().by_key.get(key, {})
  return next((rows[code] for code in content_languages(language) if code in rows), None)


def faq_search(*, query: str, language: str, limit: int = 3) -> list[tuple[FAQEntry, float]]:
  """The FAQ entries that best answer `query`, best first, each with a score in 0..1."""
  content_reload_if_changed()
  faq = _faq.get()
  found = faq.index(_faq_language(faq, language)).search(query, limit)
  return [(faq.by_pk[pk], score) for pk, score in found]


def _faq_language(faq: _Faq, language: str) -> str:
  present = faq.by_language
  return next((code for code in content_languages(language) if code in present), language)


# --- Catalog ------------------------------------------------------------------------------------
def catalog_list(*, language: str) -> list[CatalogService]:
  """Active services from the configured catalog source (CATALOG_SOURCE), in display order."""
  content_reload_if_changed()
  source = catalog_source()
  for code in content_languages(language):
    services = source.services(language=code)
    if services:
      return services
  return []


def catalog_get(*, slug: str, language: str) -> CatalogService | None:
  """The active service `slug` from the catalog source, in `language` if it has it."""
  content_reload_if_changed()
  source = catalog_source()
  for code in content_languages(language):
    found = next((s for s in source.services(language=code) if s.slug == slug), None)
    if found is not None:
      return found
  return None


def catalog_search(*, query: str, language: str, limit: int = 3) -> list[CatalogService]:
  """The services that best match `query`, best first (only those that match at all)."""
  found = catalog_search_scored(query=query, language=language, limit=limit)
  return [service for service, _score in found]


def catalog_search_scored(
  *, query: str, language: str, limit: int = 3
) -> list[tuple[CatalogService, float]]:
  """Like `catalog_search`, with each service's score in 0..1."""
  services = catalog_list(language=language)
  by_pk = {service.pk: service for service in services}
  return [(by_pk[pk], score) for pk, score in _catalog_index(services).search(query, limit)]


_index_lock = threading.Lock()
_catalog_indexes: dict[str, tuple[tuple, Index]] = {}  # language -> (rows signature, index)


def _catalog_index(services: list[CatalogService]) -> Index:
  # The catalog is small and already loaded: the rows themselves are the cache key.
  signature = tuple((s.pk, s.updated_at) for s in services)
  language = services[0].language if services else ""
  with _index_lock:
    cached = _catalog_indexes.get(language)
    if cached is not None and cached[0] == signature:
      return cached[1]
  index = Index()
  for service in services:
    texts = (service.name, service.slug.replace("-", " "), service.description)
    index.add(service.pk, zip(texts, (w for _f, w in SERVICE_FIELDS), strict=True))
  with _index_lock:
    _catalog_indexes[language] = (signature, index)
  return index


# --- Scenarios ----------------------------------------------------------------------------------
@dataclass
class _Scenarios:
  by_language: dict[str, list[Scenario]] = field(default_factory=dict)
  by_key: dict[str, dict[str, Scenario]] = field(default_factory=dict)


def _scenarios_build() -> _Scenarios:
  scenarios = _Scenarios()
  for row in Scenario.objects.filter(active=True):
    scenarios.by_language.setdefault(row.language, []).append(row)
    scenarios.by_key.setdefault(row.key, {})[row.language] = row
  return scenarios


_scenarios = Cached("scenario", build=_scenarios_build)


def scenario_list(*, language: str) -> list[Scenario]:
  """Active needs-discovery scenarios in `language` (or the nearest language that has any)."""
  content_reload_if_changed()
  by_language = _scenarios.get().by_language
  for code in content_languages(language):
    if by_language.get(code):
      return list(by_language[code])
  return []


def scenario_get(*, key: str, language: str) -> Scenario | None:
  """The active scenario `key` in `language`, else in the nearest language that has it."""
  content_reload_if_changed()
  rows = _scenarios.get().by_key.get(key, {})
  return next((rows[code] for code in content_languages(language) if code in rows), None)


# --- Customers and leads ------------------------------------------------------------------------
def customer_get(*, channel: str, external_id: str) -> Customer | None:
  return Customer.objects.filter(channel=channel, external_id=str(external_id)).first()


def lead_get_open(*, customer: Customer) -> Lead | None:
  """The customer's most recent lead that is not won or lost yet."""
  return (
    Lead.objects.filter(customer=customer, stage__in=OPEN_STAGES)
    .select_related("service")
    .order_by("-created_at", "-pk")
    .first()
  )


def lead_list_for_customer(*, customer: Customer) -> list[Lead]:
  """All the customer's leads, newest first."""
  return list(
    Lead.objects.filter(customer=customer).select_related("service").order_by("-created_at", "-pk")
  )
