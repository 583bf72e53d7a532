"""Browser tests: Playwright driving Debian's headless Chromium against pytest-django's live_server."""

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(autouse=True)
def _browser_settings(settings, tmp_path):
  settings.EXPORT_DIR = tmp_path / "exports"
  settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
  }


@pytest.fixture
def browser_page():
  """A Chromium page (1366x900, English admin); skips only when chromium is not installed."""
  if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (apt-get install chromium)")
  from playwright.sync_api import sync_playwright

  ARTIFACTS.mkdir(exist_ok=True)
  with sync_playwright() as playwright:
    browser = playwright.chromium.launch(
      executable_path=CHROMIUM,
      args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
    )
    context = browser.new_context(
      viewport={"width": 1366, "height": 900}, accept_downloads=True, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
    browser.close()
