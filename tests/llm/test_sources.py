import json

import pytest

from llm.errors import RegistryError
from llm.sources import source_get, source_kind, sources_reset
from llm.sources.base import DatabaseSource
from llm.sources.file import FileSource
from llm.sources.url import URLSource
from tests.llm.conftest import registry_row


def test_auto_picks_url_then_file_then_database(settings, tmp_path):
  settings.LLM_MODELS_SOURCE = "auto"
  settings.LLM_MODELS_FILE = tmp_path / "llm_models.json"
  assert source_kind() == "db"

  settings.LLM_MODELS_FILE.write_text('{"models": []}')
  assert source_kind() == "file"

  settings.LLM_MODELS_URL = "https://example.com/models.json"
  assert source_kind() == "url"

  settings.LLM_MODELS_SOURCE = "db"
  assert source_kind() == "db"


def test_source_get_keeps_one_instance_per_configuration(settings, tmp_path):
  settings.LLM_MODELS_SOURCE = "file"
  settings.LLM_MODELS_FILE = tmp_path / "a.json"
  first = source_get()

  assert source_get() is first
  assert isinstance(first, FileSource)
  assert isinstance(source_get("db"), DatabaseSource)

  settings.LLM_MODELS_FILE = tmp_path / "b.json"
  assert source_get() is not first
  sources_reset()
  settings.LLM_MODELS_FILE = tmp_path / "a.json"
  assert source_get() is not first


def test_database_source_never_has_rows_to_sync():
  source = source_get("db")

  assert source.syncs is False
  assert source.poll(force=True) is None
  assert source.describe() == "the database (edited in the admin)"


def test_file_source_reports_rows_only_when_the_file_changes(registry_file):
  # given
  registry_file([registry_row("f/1")])
  source = source_get()

  # when / then
  assert [row["provider_model_name"] for row in source.poll()] == ["f/1"]
  assert source.poll() is None
  assert [row["provider_model_name"] for row in source.poll(force=True)] == ["f/1"]

  registry_file([registry_row("f/1"), registry_row("f/2")], bump=1)
  assert [row["provider_model_name"] for row in source.poll()] == ["f/1", "f/2"]


def test_file_source_bad_content_is_reported_once(registry_file):
  path = registry_file("{broken")
  source = source_get()

  with pytest.raises(RegistryError, match=f"file {path} has 1 problem"):
    source.poll()
  assert source.poll() is None


def test_missing_file_is_a_clear_error(settings, tmp_path):
  settings.LLM_MODELS_SOURCE = "file"
  settings.LLM_MODELS_FILE = tmp_path / "missing.json"

  with pytest.raises(RegistryError, match="file not found"):
    source_get().poll()


def test_url_source_polls_with_etag_and_interval(registry_server, settings):
  # given
  registry_server.serve([registry_row("u/1")])
  source = source_get()
  assert isinstance(source, URLSource)
  assert source.describe().endswith("/models.json")  # the signed query is not shown

  # when / then: first poll fetches, the second gets 304
  assert [row["provider_model_name"] for row in source.poll()] == ["u/1"]
  assert source.poll() is None
  assert registry_server.requests[1]["if-none-match"]

  # a change is seen on the next poll
  registry_server.serve([registry_row("u/2")])
  assert [row["provider_model_name"] for row in source.poll()] == ["u/2"]

  # within the interval nothing is fetched
  settings.LLM_MODELS_RELOAD_SECONDS = 3600
  count = len(registry_server.requests)
  assert source.poll() is None
  assert len(registry_server.requests) == count
  assert [row["provider_model_name"] for row in source.poll(force=True)] == ["u/2"]


def test_url_source_same_body_without_etag_is_unchanged(registry_server, monkeypatch):
  registry_server.serve([registry_row("u/1")])
  source = source_get()
  assert source.poll() is not None
  source._etag = ""  # a server that sends no ETag: the body's digest decides

  assert source.poll() is None


def test_url_source_sends_the_bearer_token(registry_server, settings):
  settings.LLM_MODELS_URL_TOKEN = "url-token-1"
  source_get().poll()

  assert registry_server.requests[0]["authorization"] == "Bearer url-token-1"
  assert registry_server.requests[0]["accept"] == "application/json"


def test_url_source_errors(registry_server, settings):
  source = source_get()
  registry_server.status = 500
  with pytest.raises(RegistryError, match="HTTP 500"):
    source.poll()

  registry_server.status = 200
  registry_server.body = b'{"models": [{}]}'
  with pytest.raises(RegistryError, match="provider_model_name is required"):
    source.poll()


def test_url_source_unreachable_or_unset(settings):
  settings.LLM_MODELS_SOURCE = "url"
  settings.LLM_MODELS_URL = "http://127.0.0.1:9/models.json"
  with pytest.raises(RegistryError, match="can't fetch it"):
    source_get().poll()

  settings.LLM_MODELS_URL = ""
  with pytest.raises(RegistryError, match="LLM_MODELS_URL is empty"):
    source_get().poll()


def test_url_source_refuses_huge_bodies(registry_server, monkeypatch):
  monkeypatch.setattr("llm.sources.url.MAX_BYTES", 10)
  registry_server.body = json.dumps({"models": []}).encode() + b" " * 20

  with pytest.raises(RegistryError, match="larger than 10 bytes"):
    source_get().poll()


def test_unreadable_file_is_a_registry_error(settings, tmp_path):
  settings.LLM_MODELS_SOURCE = "file"
  settings.LLM_MODELS_FILE = tmp_path  # a directory: stat works, reading fails

  with pytest.raises(RegistryError, match="can't read it: Is a directory"):
    source_get().poll()
