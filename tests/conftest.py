"""Shared fixtures. Factories live in tests/factories.py; fake network servers in tests/fakes/."""

import pytest
from cryptography.fernet import Fernet

from tests.fakes.openai_server import FakeOpenAIServer

_TEST_MASTER_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _llm_isolation(settings):
  """Every test: a known master key, models only from the test database, fast retries."""
  from llm.registry import registry_reset

  settings.LLM_MODEL_DECRYPT_KEY = _TEST_MASTER_KEY
  settings.LLM_MODELS_SOURCE = "db"
  settings.LLM_MODELS_URL = ""
  settings.DEFAULT_LLM_MODEL = ""
  settings.LLM_TIMEOUT = 5.0
  settings.LLM_RETRY_BACKOFF = 0.01
  settings.DAILY_TOKEN_BUDGET = 0
  registry_reset()
  yield
  registry_reset()


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
  """Pages render without `collectstatic` (the manifest storage is tested in test_project_docker)."""
  settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
  }


@pytest.fixture(autouse=True)
def _content_isolation(settings):
  """Every test: no content file (content comes from factories), no cached indexes or sources.

  Tests that want the shipped content use `default_content`; hot-reload tests point
  settings.CONTENT_FILE at a temporary file.
  """
  from leads.content import content_watch_reset
  from leads.sources import catalog_sources_reset

  settings.CONTENT_FILE = "none"
  settings.CONTENT_RELOAD_SECONDS = 0
  settings.CATALOG_SOURCE = "db"
  content_watch_reset()
  catalog_sources_reset()
  yield
  content_watch_reset()
  catalog_sources_reset()


@pytest.fixture
def cache_clock(monkeypatch):
  """The content caches' clock (leads/cache.py), frozen later than any real read; tests move it."""
  import time

  from leads import cache

  cache.stamps_reset()  # nothing read under another test's frozen clock looks fresh
  now = [time.monotonic() + 3600]
  monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
  return now


@pytest.fixture
def default_content(db):
  """The shipped content/default.yaml loaded into the test database (returns the LoadResult)."""
  from django.conf import settings

  from leads.content import content_load

  return content_load(path=settings.BASE_DIR / "content" / "default.yaml")


@pytest.fixture
def fake_llm():
  """A started fake OpenAI-compatible server (tests/fakes/openai_server.py), stopped afterwards."""
  server = FakeOpenAIServer().start()
  yield server
  server.stop()


@pytest.fixture
def llm_model(db, fake_llm):
  """The active default LLMModel "fake/default", pointing at fake_llm, key FAKE_API_KEY encrypted."""
  from tests.factories import llm_model_factory

  return llm_model_factory(
    provider_model_name="fake/default",
    base_url=fake_llm.base_url,
    is_default=True,
    fallback_order=1,
  )
