"""Catalog sources: database, content file and URL (a real local HTTP server), and switching."""

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leads import sources
from leads.models import CatalogService, Lead
from leads.selectors import catalog_get, catalog_list, catalog_search
from leads.sources import (
  CatalogSource,
  DatabaseSource,
  FileSource,
  URLSource,
  catalog_source,
  catalog_sources_reset,
)
from tests.factories import lead_factory, service_factory
from tests.leads.conftest import SMALL_CONTENT
from tests.leads.test_content import rewrite

pytestmark = pytest.mark.django_db

FEED = {
  "services": [
    {"slug": "audit", "price": 9900, "ru": {"name": "Аудит сайта", "description": "Проверка."}},
    {"slug": "seo", "price": 25000, "order": 1, "ru": {"name": "SEO"}, "en": {"name": "SEO"}},
    {"slug": "old", "active": False, "ru": {"name": "Старое"}},
  ]
}


class CatalogServer:
  """A real HTTP server on 127.0.0.1 answering GET with the queued (status, body, delay)."""

  def __init__(self) -> None:
    self.responses: list[tuple[int, bytes, float]] = []
    self.hits = 0
    outer = self

    class Handler(BaseHTTPRequestHandler):
      def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        outer.hits += 1
        status, body, delay = outer.responses.pop(0) if outer.responses else (404, b"", 0.0)
        time.sleep(delay)
        try:
          self.send_response(status)
          self.send_header("Content-Type", "application/json")
          self.send_header("Content-Length", str(len(body)))
          self.end_headers()
          self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
          pass  # the client timed out and left

      def log_message(self, *args) -> None:
        pass

    self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/catalog.json"
    self.thread = threading.Thread(
      target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    self.thread.start()

  def enqueue(self, body: object = FEED, *, status: int = 200, delay: float = 0.0) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    self.responses.append((status, raw, delay))

  def stop(self) -> None:
    self.httpd.shutdown()
    self.httpd.server_close()


@pytest.fixture
def catalog_server(settings):
  server = CatalogServer()
  settings.CATALOG_SOURCE = "url"
  settings.CATALOG_URL = server.url
  settings.CATALOG_URL_TTL = 300
  settings.CATALOG_URL_TIMEOUT = 2.0
  yield server
  server.stop()


def slugs(services) -> list[str]:
  return [service.slug for service in services]


def warnings_of(caplog) -> list[str]:
  return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# --- provider map -------------------------------------------------------------------------------
@pytest.mark.parametrize(
  ("kind", "cls"), [("db", DatabaseSource), ("file", FileSource), ("url", URLSource)]
)
def test_kind_maps_to_a_provider_class(settings, kind, cls):
  settings.CATALOG_SOURCE = kind

  assert type(catalog_source()) is cls
  assert catalog_source() is catalog_source()
  assert catalog_source().kind == kind


def test_reset_forgets_providers():
  first = catalog_source()
  catalog_sources_reset()

  assert catalog_source() is not first


def test_base_class_is_abstract():
  with pytest.raises(NotImplementedError):
    CatalogSource().services(language="ru")
  with pytest.raises(NotImplementedError):
    sources._MirroredSource().items()


# --- db -----------------------------------------------------------------------------------------
def test_db_source_lists_admin_rows():
  service_factory(slug="landing", name="Лендинг")

  assert slugs(catalog_list(language="ru")) == ["landing"]


# --- file ---------------------------------------------------------------------------------------
def test_file_source_reads_the_file_and_mirrors_rows(settings, write_content):
  # given: the rows are not loaded (no load_content), only the file exists
  settings.CATALOG_SOURCE = "file"
  write_content()
  service_factory(slug="db-only", name="Только в базе")

  # when
  services = catalog_list(language="ru")

  # then
  assert slugs(services) == ["support", "landing"]
  assert services[1].pk is not None
  assert (services[1].name, str(services[1].price)) == ("Лендинг", "45000.00")
  assert catalog_get(slug="db-only", language="ru") is None
  assert CatalogService.objects.count() == 4


def test_file_source_follows_file_edits_and_overrides_admin_edits(settings, write_content):
  # given
  settings.CATALOG_SOURCE = "file"
  path = write_content()
  catalog_list(language="ru")
  CatalogService.objects.filter(slug="landing", language="ru").update(name="Изменено в админке")

  # when
  rewrite(path, SMALL_CONTENT.replace("name: Поддержка", "name: Поддержка сайта"))
  services = catalog_list(language="ru")

  # then: the file is the catalog's truth
  assert [(s.slug, s.name) for s in services] == [
    ("support", "Поддержка сайта"),
    ("landing", "Лендинг"),
  ]


def test_file_source_hides_items_removed_from_the_file(settings, write_content):
  settings.CATALOG_SOURCE = "file"
  path = write_content()
  assert slugs(catalog_list(language="ru")) == ["support", "landing"]

  rewrite(path, SMALL_CONTENT.replace("  - slug: support", "  - slug: support\n    active: false"))

  assert slugs(catalog_list(language="ru")) == ["landing"]


def test_file_source_keeps_the_last_good_copy_of_an_invalid_file(settings, write_content, caplog):
  settings.CATALOG_SOURCE = "file"
  path = write_content()
  catalog_list(language="ru")

  rewrite(path, SMALL_CONTENT.replace("price: 45000", "price: lots"))
  with caplog.at_level(logging.ERROR, logger="leads.sources"):
    services = catalog_list(language="ru")

  assert slugs(services) == ["support", "landing"]
  assert (
    caplog.records[-1].getMessage().startswith("Catalog file invalid, keeping the last good copy:")
  )


def test_file_source_keeps_the_copy_when_the_file_disappears(settings, write_content):
  settings.CATALOG_SOURCE = "file"
  path = write_content()
  catalog_list(language="ru")

  path.unlink()

  assert slugs(catalog_list(language="ru")) == ["support", "landing"]


def test_file_source_without_a_content_file_uses_the_database(settings, caplog):
  settings.CATALOG_SOURCE = "file"
  service_factory(slug="landing", name="Лендинг")

  with caplog.at_level(logging.WARNING, logger="leads.sources"):
    assert slugs(catalog_list(language="ru")) == ["landing"]
    assert slugs(catalog_list(language="ru")) == ["landing"]

  assert warnings_of(caplog) == ["The file catalog is unavailable; using the database catalog"]


def test_file_source_with_an_invalid_file_from_the_start_uses_the_database(settings, write_content):
  settings.CATALOG_SOURCE = "file"
  write_content("catalog: 5\n")
  service_factory(slug="landing", name="Лендинг")

  assert slugs(catalog_list(language="ru")) == ["landing"]


# --- url ----------------------------------------------------------------------------------------
def test_url_source_fetches_mirrors_and_caches(catalog_server):
  # given
  catalog_server.enqueue()

  # when
  ru = catalog_list(language="ru")
  en = catalog_list(language="en")

  # then
  assert slugs(ru) == ["seo", "audit"]
  assert slugs(en) == ["seo"]
  assert catalog_server.hits == 1
  assert CatalogService.objects.get(slug="audit").price == 9900
  assert catalog_search(query="аудит", language="ru")[0].slug == "audit"


def test_url_service_can_be_a_leads_interest(catalog_server):
  catalog_server.enqueue()
  lead = lead_factory()

  lead.service = catalog_get(slug="seo", language="en")
  lead.save()

  assert Lead.objects.get(pk=lead.pk).service.name == "SEO"


def test_url_source_refetches_after_the_ttl(catalog_server, settings):
  settings.CATALOG_URL_TTL = 0
  catalog_server.enqueue()
  catalog_server.enqueue({"services": [{"slug": "seo", "ru": {"name": "SEO-продвижение"}}]})

  assert slugs(catalog_list(language="ru")) == ["seo", "audit"]
  services = catalog_list(language="ru")

  assert [(s.slug, s.name) for s in services] == [("seo", "SEO-продвижение")]
  assert catalog_server.hits == 2


@pytest.mark.parametrize(
  ("status", "body", "problem"),
  [
    (500, b"oops", "HTTP Error 500"),
    (200, b"not json", "Expecting value"),
    (200, b'{"services": 5}', 'expected a JSON object {"services": [...]}'),
  ],
)
def test_url_failure_keeps_the_last_good_copy(
  catalog_server, settings, caplog, status, body, problem
):
  # given
  settings.CATALOG_URL_TTL = 0
  catalog_server.enqueue()
  catalog_list(language="ru")
  catalog_server.enqueue(body, status=status)

  # when
  with caplog.at_level(logging.WARNING, logger="leads.sources"):
    services = catalog_list(language="ru")

  # then
  assert slugs(services) == ["seo", "audit"]
  message = warnings_of(caplog)[0]
  assert message.startswith(
    f"Catalog URL {catalog_server.url} failed, keeping the last good copy: "
  )
  assert problem in message


def test_url_timeout_keeps_the_last_good_copy(catalog_server, settings):
  settings.CATALOG_URL_TTL = 0
  settings.CATALOG_URL_TIMEOUT = 0.2
  catalog_server.enqueue()
  catalog_list(language="ru")
  catalog_server.enqueue({"services": []}, delay=0.5)

  assert slugs(catalog_list(language="ru")) == ["seo", "audit"]


def test_url_too_large_is_refused(catalog_server, monkeypatch, caplog):
  monkeypatch.setattr(sources, "MAX_FEED_BYTES", 10)
  catalog_server.enqueue()
  service_factory(slug="landing", name="Лендинг")

  with caplog.at_level(logging.WARNING, logger="leads.sources"):
    services = catalog_list(language="ru")

  assert slugs(services) == ["landing"]
  assert "response larger than 10 bytes" in warnings_of(caplog)[0]


def test_url_never_reachable_uses_the_database(catalog_server, caplog):
  catalog_server.enqueue(b"", status=503)
  service_factory(slug="landing", name="Лендинг")

  with caplog.at_level(logging.WARNING, logger="leads.sources"):
    services = catalog_list(language="ru")

  assert slugs(services) == ["landing"]
  assert warnings_of(caplog)[-1] == "The url catalog is unavailable; using the database catalog"


def test_url_refresh_in_another_thread_serves_the_current_copy(catalog_server, settings):
  # given: a good copy, an expired TTL, and another thread holding the refresh lock
  settings.CATALOG_URL_TTL = 0
  catalog_server.enqueue()
  source = catalog_source()
  catalog_list(language="ru")

  # when
  with source._lock:
    services = catalog_list(language="ru")

  # then
  assert slugs(services) == ["seo", "audit"]
  assert catalog_server.hits == 1


# --- switching ----------------------------------------------------------------------------------
def test_switching_sources_switches_the_catalog(settings, write_content, catalog_server):
  # given
  write_content()
  service_factory(slug="admin-made", name="Из админки")
  catalog_server.enqueue()

  # when / then: the db catalog has the file's rows (loaded on the first read) and the admin's
  settings.CATALOG_SOURCE = "db"
  assert slugs(catalog_list(language="ru")) == ["support", "landing", "admin-made"]
  settings.CATALOG_SOURCE = "file"
  assert slugs(catalog_list(language="ru")) == ["support", "landing"]
  settings.CATALOG_SOURCE = "url"
  assert slugs(catalog_list(language="ru")) == ["seo", "audit"]
  settings.CATALOG_SOURCE = "db"
  assert slugs(catalog_list(language="ru")) == ["seo", "support", "audit", "landing", "admin-made"]
