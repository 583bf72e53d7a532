"""Reads for the conversation engine and the admin: FAQ, catalog, scenarios, customers, leads.

Every content read first calls `content_reload_if_changed()` (a cheap, throttled stat of the
content file), so an edited content file takes effect on the next message without a restart.
Admin edits are database rows and apply at once; the in-process search indexes are rebuilt when
the rows they were built from change.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, Q

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
def faq_list(*, language: str) -> list[FAQEntry]:
  """Active FAQ entries in `language` (or the nearest language that has any)."""
  content_reload_if_changed()
  return list(FAQEntry.objects.filter(active=True, language=_faq_language(language)))


def faq_get(*, key: str, language: str) -> FAQEntry | None:
  """The active entry `key` in `language`, else in the nearest language that has it."""
  content_reload_if_changed()
  rows = {row.language: row for row in FAQEntry.objects.filter(key=key, active=True)}
  return next((rows[code] for code in content_languages(language) if code in rows), None)


def faq_search(*, query: str, language: str, limit: int = 3) -> list[tuple[FAQEntry, float]]:
  """The FAQ entries that best answer `query`, best first, each with a score in 0..1."""
  content_reload_if_changed()
  found = _faq_index(_faq_language(language)).search(query, limit)
  rows = FAQEntry.objects.in_bulk([pk for pk, _score in found])
  return [(rows[pk], score) for pk, score in found if pk in rows]


def _faq_language(language: str) -> str:
  present = set(FAQEntry.objects.filter(active=True).values_list("language", flat=True).distinct())
  return next((code for code in content_languages(language) if code in present), language)


@dataclass
class _CachedIndex:
  signature: tuple
  index: Index


_index_lock = threading.Lock()
_indexes: dict[tuple, _CachedIndex] = {}


def _faq_index(language: str) -> Index:
  # Count + latest change of the language's rows: any add, edit, (de)activation or delete moves it.
  signature = tuple(
    FAQEntry.objects.filter(language=language)
    .aggregate(n=Count("id"), active=Count("id", filter=Q(active=True)), at=Max("updated_at"))
    .values()
  )
  key = ("faq", language)
  with _index_lock:
    cached = _indexes.get(key)
    if cached is not None and cached.signature == signature:
      return cached.index
  index = Index()
  rows = FAQEntry.objects.filter(language=language, active=True).values_list(
    "pk", "question", "keywords", "answer"
  )
  for pk, question, keywords, answer in rows.iterator(chunk_size=2000):
    index.add(pk, zip((question, keywords, answer), (w for _f, w in FAQ_FIELDS), strict=True))
  with _index_lock:
    _indexes[key] = _CachedIndex(signature, index)
  return index


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


def _catalog_index(services: list[CatalogService]) -> Index:
  # The catalog is small and already loaded: the rows themselves are the cache key.
  signature = tuple((s.pk, s.updated_at) for s in services)
  with _index_lock:
    cached = _indexes.get(("catalog", signature))
    if cached is not None:
      return cached.index
  index = Index()
  for service in services:
    texts = (service.name, service.slug.replace("-", " "), service.description)
    index.add(service.pk, zip(texts, (w for _f, w in SERVICE_FIELDS), strict=True))
  with _index_lock:
    for old in [key for key in _indexes if key[0] == "catalog"]:
      del _indexes[old]
    _indexes[("catalog", signature)] = _CachedIndex(signature, index)
  return index


# --- Scenarios ----------------------------------------------------------------------------------
def scenario_list(*, language: str) -> list[Scenario]:
  """Active needs-discovery scenarios in `language` (or the nearest language that has any)."""
  content_reload_if_changed()
  for code in content_languages(language):
    scenarios = list(Scenario.objects.filter(active=True, language=code))
    if scenarios:
      return scenarios
  return []


def scenario_get(*, key: str, language: str) -> Scenario | None:
  """The active scenario `key` in `language`, else in the nearest language that has it."""
  content_reload_if_changed()
  rows = {row.language: row for row in Scenario.objects.filter(key=key, active=True)}
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
