"""Where the catalog comes from: the database, the content file or a URL (CATALOG_SOURCE).

- `db` (default): CatalogService rows, edited in the admin and seeded from the content file.
- `file`: the content file's `catalog` section is the truth, re-read whenever the file changes.
- `url`: CATALOG_URL returns JSON `{"services": [...]}` (same item format as the file); fetched
  with a timeout, cached CATALOG_URL_TTL seconds; a failed fetch keeps the last good copy.

File and URL items are mirrored into CatalogService rows when they change, so a lead can point
at the service a customer chose and analytics can group by it; listings show only the items the
source currently has.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import ClassVar

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from leads.cache import Cached, stamps_reset
from leads.content_schema import ContentError, ServiceItem, content_parse_file, services_parse
from leads.models import CatalogService

logger = logging.getLogger(__name__)

MAX_FEED_BYTES = 5 * 1024 * 1024

SOURCE_CLASSES = {
  "db": "leads.sources.DatabaseSource",
  "file": "leads.sources.FileSource",
  "url": "leads.sources.URLSource",
}


class CatalogSource:
  """A catalog provider: the active services of one language, in display order."""

  kind: ClassVar[str]

  def services(self, *, language: str) -> list[CatalogService]:
    raise NotImplementedError


def _rows_build() -> dict[str, list[CatalogService]]:
  rows: dict[str, list[CatalogService]] = {}
  for row in CatalogService.objects.all():  # in display order
    rows.setdefault(row.language, []).append(row)
  return rows


# Every CatalogService row by language (mirrored sources list inactive rows the source has).
_rows = Cached("catalog", build=_rows_build)


class DatabaseSource(CatalogSource):
  kind = "db"

  def services(self, *, language: str) -> list[CatalogService]:
    return [row for row in _rows.get().get(language, []) if row.active]


class _MirroredSource(CatalogSource):
  """A source whose items are plain data, mirrored into rows whenever they change."""

  def __init__(self) -> None:
    self._lock = threading.Lock()
    self._mirror_lock = threading.Lock()
    self._items: list[ServiceItem] | None = None
    self._mirrored_hash = ""
    self._mirrored: list[ServiceItem] | None = None  # the items object last mirrored
    self._warned = False

  def items(self) -> list[ServiceItem] | None:
    """The source's current items, or None if it has never been readable."""
    raise NotImplementedError

  def services(self, *, language: str) -> list[CatalogService]:
    items = self.items()
    if items is None:
      if not self._warned:
        logger.warning("The %s catalog is unavailable; using the database catalog", self.kind)
        self._warned = True
      return DatabaseSource().services(language=language)
    with self._mirror_lock:
      self._mirror(items)
    slugs = {item.slug for item in items if item.language == language and item.active}
    return [row for row in _rows.get().get(language, []) if row.slug in slugs]

  def _mirror(self, items: list[ServiceItem]) -> None:
    if items is self._mirrored:
      return  # the same copy as last time (sources keep it until they read a new one)
    digest = _items_hash(items)
    if digest != self._mirrored_hash:
      with transaction.atomic():
        for item in items:
          catalog_row_write(item)
      stamps_reset()
      self._mirrored_hash = digest
      logger.info("Catalog from %s source mirrored: %d items", self.kind, len(items))
    self._mirrored = items


class FileSource(_MirroredSource):
  kind = "file"

  def __init__(self) -> None:
    super().__init__()
    self._stat: tuple | None = None

  def items(self) -> list[ServiceItem] | None:
    from leads.content import content_path

    path = content_path()
    if path is None:
      return None
    try:
      stat = path.stat()
    except OSError:
      return self._items
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with self._lock:
      if key != self._stat:
        self._stat = key
        try:
          self._items = content_parse_file(path).catalog
        except ContentError as error:
          logger.error("Catalog file invalid, keeping the last good copy:\n%s", error)
      return self._items


class URLSource(_MirroredSource):
  kind = "url"

  def __init__(self) -> None:
    super().__init__()
    self._fetched_at = float("-inf")

  def items(self) -> list[ServiceItem] | None:
    if time.monotonic() - self._fetched_at < settings.CATALOG_URL_TTL:
      return self._items
    # One thread refreshes; the others keep serving the last good copy meanwhile.
    if not self._lock.acquire(blocking=self._items is None):
      return self._items
    try:
      if time.monotonic() - self._fetched_at >= settings.CATALOG_URL_TTL:
        self._refresh()
      return self._items
    finally:
      self._lock.release()

  def _refresh(self) -> None:
    url = settings.CATALOG_URL
    self._fetched_at = time.monotonic()
    try:
      self._items = catalog_fetch(url)
    except (OSError, ValueError, ContentError) as error:
      logger.warning("Catalog URL %s failed, keeping the last good copy: %s", url, error)


def catalog_fetch(url: str) -> list[ServiceItem]:
  """GET `url` and validate its `{"services": [...]}`; raises OSError, ValueError, ContentError."""
  request = urllib.request.Request(url, headers={"Accept": "application/json"})
  with urllib.request.urlopen(request, timeout=settings.CATALOG_URL_TIMEOUT) as response:  # noqa: S310
    body = response.read(MAX_FEED_BYTES + 1)
  if len(body) > MAX_FEED_BYTES:
    raise ValueError(f"response larger than {MAX_FEED_BYTES} bytes")
  return services_parse(json.loads(body), source=url)


def catalog_row_write(item: ServiceItem) -> tuple[CatalogService, bool]:
  """Create or overwrite the row for `item`; (row, changed)."""
  fields = {
    "name": item.name,
    "description": item.description,
    "price": item.price,
    "currency": item.currency,
    "ordering": item.ordering,
    "active": item.active,
  }
  row = CatalogService.objects.filter(slug=item.slug, language=item.language).first()
  if row is None:
    return CatalogService.objects.create(slug=item.slug, language=item.language, **fields), True
  if all(getattr(row, name) == value for name, value in fields.items()):
    return row, False
  for name, value in fields.items():
    setattr(row, name, value)
  row.save()
  return row, True


def _items_hash(items: list[ServiceItem]) -> str:
  return hashlib.sha256(repr(items).encode()).hexdigest()


_sources_lock = threading.Lock()
_sources: dict[tuple, CatalogSource] = {}


def catalog_source() -> CatalogSource:
  """The provider for the configured CATALOG_SOURCE (one instance per configuration)."""
  kind = settings.CATALOG_SOURCE
  key = (kind, settings.CATALOG_URL, str(settings.CONTENT_FILE))
  with _sources_lock:
    if key not in _sources:
      _sources[key] = import_string(SOURCE_CLASSES[kind])()
    return _sources[key]


def catalog_sources_reset() -> None:
  """Forget cached providers and their copies (tests, or after a settings change)."""
  with _sources_lock:
    _sources.clear()
