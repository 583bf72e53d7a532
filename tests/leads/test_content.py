"""Loading the content file: upserts, precedence of admin edits, deactivation, hot reload."""

import logging
import os

import pytest

from leads import content as content_module
from leads.content import (
  ContentError,
  content_load,
  content_path,
  content_reload_if_changed,
  content_watch_reset,
)
from leads.models import CatalogService, ContentLoad, FAQEntry, Scenario
from leads.selectors import faq_search
from llm.models import Prompt, PromptVersion
from tests.leads.conftest import SMALL_CONTENT

pytestmark = pytest.mark.django_db


def rewrite(path, text: str) -> None:
  """Write `text` and move the mtime forward, so the watcher sees a change even within 1 ns."""
  before = path.stat().st_mtime_ns
  path.write_text(text, encoding="utf-8")
  os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def counts(result) -> dict:
  return {name: tuple(vars(s).values()) for name, s in result.sections.items()}


# --- content_path -------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["", "none", "OFF", "  "])
def test_content_path_disabled(settings, value):
  settings.CONTENT_FILE = value

  assert content_path() is None


def test_content_path_relative_is_under_the_project(settings):
  settings.CONTENT_FILE = "content/default.yaml"

  assert content_path() == settings.BASE_DIR / "content" / "default.yaml"


def test_content_path_absolute(settings, tmp_path):
  settings.CONTENT_FILE = str(tmp_path / "c.yaml")

  assert content_path() == tmp_path / "c.yaml"


def test_load_without_a_content_file_is_an_error():
  with pytest.raises(ContentError) as caught:
    content_load()

  assert caught.value.problems == ["CONTENT_FILE is 'none': there is no content file to load"]


def test_load_missing_file_is_an_error(tmp_path):
  with pytest.raises(ContentError) as caught:
    content_load(path=tmp_path / "nope.yaml")

  assert caught.value.problems[0].startswith(f"{tmp_path / 'nope.yaml'}: cannot be read")


# --- first load ---------------------------------------------------------------------------------
def test_first_load_creates_every_row(write_content):
  # given
  path = write_content()

  # when
  result = content_load()

  # then                      created updated unchanged kept deactivated
  assert counts(result) == {
    "prompts": (4, 0, 0, 0, 0),
    "faq": (4, 0, 0, 0, 0),
    "catalog": (3, 0, 0, 0, 0),
    "scenarios": (2, 0, 0, 0, 0),
  }
  assert result.changed == 13
  faq = FAQEntry.objects.get(key="price", language="ru")
  assert (faq.question, faq.answer, faq.keywords, faq.active) == (
    "Сколько стоит сайт?",
    "Лендинг — от 45 000 ₽.",
    "цена, стоимость",
    True,
  )
  support = CatalogService.objects.get(slug="support", language="ru")
  assert (support.name, str(support.price), support.currency, support.ordering) == (
    "Поддержка",
    "15000.50",
    "RUB",
    5,
  )
  scenario = Scenario.objects.get(key="budget", language="en")
  assert [step["key"] for step in scenario.steps] == ["budget", "about"]
  greeting = Prompt.objects.get(key="greeting", language="en")
  assert (greeting.text, greeting.version) == ("Hello, {name}!", 1)
  assert list(greeting.versions.values_list("version", "text")) == [(1, "Hello, {name}!")]
  load = ContentLoad.objects.get()
  assert (load.path, load.sha256, load.forced) == (str(path), result.sha256, False)
  assert load.summary["faq"] == {
    "created": 4,
    "updated": 0,
    "unchanged": 0,
    "kept": 0,
    "deactivated": 0,
  }
  assert len(load.items) == 13
  assert str(load).startswith(f"{path} @ ")


def test_second_load_of_the_same_file_changes_nothing(write_content):
  write_content()
  content_load()

  result = content_load()

  assert counts(result)["faq"] == (0, 0, 4, 0, 0)
  assert result.changed == 0
  assert PromptVersion.objects.count() == 4
  assert ContentLoad.objects.count() == 2


def test_progress_reports_each_item(write_content):
  write_content()
  seen = []

  content_load(progress=lambda section, done, total: seen.append((section, done, total)))

  assert seen[:2] == [("prompts", 1, 4), ("prompts", 2, 4)]
  assert ("catalog", 3, 3) in seen
  assert len(seen) == 13


def test_dry_run_reports_but_writes_nothing(write_content):
  write_content()

  result = content_load(dry_run=True)

  assert result.dry_run is True
  assert counts(result)["faq"] == (4, 0, 0, 0, 0)
  assert FAQEntry.objects.count() == 0
  assert Prompt.objects.count() == 0
  assert ContentLoad.objects.count() == 0


def test_only_the_latest_loads_are_kept(write_content, monkeypatch):
  monkeypatch.setattr(content_module, "KEEP_LOADS", 2)
  write_content()

  for _ in range(3):
    content_load()

  assert ContentLoad.objects.count() == 2


# --- changes in the file ------------------------------------------------------------------------
def test_changed_file_updates_rows_and_versions_prompts(write_content):
  # given
  path = write_content()
  content_load()

  # when
  text = SMALL_CONTENT.replace("Лендинг — от 45 000 ₽.", "Лендинг — от 50 000 ₽.")
  text = text.replace("Hello, {name}!", "Hi, {name}!").replace("price: 45000", "price: 50000")
  rewrite(path, text)
  result = content_load()

  # then
  assert counts(result)["faq"] == (0, 1, 3, 0, 0)
  assert counts(result)["prompts"] == (0, 1, 3, 0, 0)
  assert counts(result)["catalog"] == (0, 2, 1, 0, 0)
  assert FAQEntry.objects.get(key="price", language="ru").answer == "Лендинг — от 50 000 ₽."
  prompt = Prompt.objects.get(key="greeting", language="en")
  assert (prompt.text, prompt.version) == ("Hi, {name}!", 2)
  assert list(prompt.versions.values_list("version", "text")) == [
    (2, "Hi, {name}!"),
    (1, "Hello, {name}!"),
  ]


def test_item_removed_from_the_file_is_deactivated_and_comes_back(write_content):
  # given
  path = write_content()
  content_load()
  without_timeline = (
    SMALL_CONTENT.split("  - key: timeline")[0] + "catalog:" + (SMALL_CONTENT.split("catalog:")[1])
  )

  # when
  rewrite(path, without_timeline)
  removed = content_load()
  again = content_load()
  rewrite(path, SMALL_CONTENT)
  restored = content_load()

  # then
  assert counts(removed)["faq"] == (0, 0, 2, 0, 2)
  assert counts(again)["faq"] == (0, 0, 2, 0, 0)
  assert counts(restored)["faq"] == (0, 2, 2, 0, 0)
  assert FAQEntry.objects.filter(active=True).count() == 4


def test_prompt_removed_from_the_file_is_deactivated(write_content):
  path = write_content()
  content_load()

  rewrite(
    path, SMALL_CONTENT.replace("  greeting:\n    ru: Здравствуйте, {name}!\n", "  greeting:\n")
  )
  result = content_load()

  assert counts(result)["prompts"] == (0, 0, 3, 0, 1)
  assert list(Prompt.objects.filter(active=False).values_list("key", "language")) == [
    ("greeting", "ru")
  ]


def test_removed_item_deleted_in_the_admin_is_forgotten(write_content):
  path = write_content()
  content_load()
  FAQEntry.objects.filter(key="timeline").delete()

  rewrite(path, SMALL_CONTENT.replace("timeline", "timing"))
  result = content_load()

  assert counts(result)["faq"] == (2, 0, 2, 0, 0)
  assert "faq:timeline:ru" not in ContentLoad.objects.first().items


# --- which source wins --------------------------------------------------------------------------
def test_admin_edit_is_kept_when_the_file_changes_the_same_item(write_content, caplog):
  # given: the admin edited an answer, then the file changed it too
  path = write_content()
  content_load()
  entry = FAQEntry.objects.get(key="price", language="ru")
  entry.answer = "Цена по запросу."
  entry.save()
  rewrite(path, SMALL_CONTENT.replace("Лендинг — от 45 000 ₽.", "Лендинг — от 50 000 ₽."))

  # when
  with caplog.at_level(logging.INFO, logger="leads.content"):
    result = content_load()

  # then
  assert counts(result)["faq"] == (0, 0, 3, 1, 0)
  entry.refresh_from_db()
  assert entry.answer == "Цена по запросу."
  assert "Content faq:price:ru kept: edited in the admin since the last load" in caplog.messages


def test_admin_edit_stays_kept_on_later_loads(write_content):
  path = write_content()
  content_load()
  FAQEntry.objects.filter(key="price", language="ru").update(answer="Цена по запросу.")
  rewrite(path, SMALL_CONTENT.replace("Лендинг — от 45 000 ₽.", "Лендинг — от 50 000 ₽."))
  content_load()

  result = content_load()

  assert counts(result)["faq"] == (0, 0, 3, 1, 0)
  assert FAQEntry.objects.get(key="price", language="ru").answer == "Цена по запросу."


def test_admin_edit_of_an_item_the_file_does_not_change_is_left_alone(write_content):
  write_content()
  content_load()
  Scenario.objects.filter(key="budget", language="ru").update(title="Бюджет проекта")

  result = content_load()

  assert counts(result)["scenarios"] == (0, 0, 1, 1, 0)
  assert Scenario.objects.get(key="budget", language="ru").title == "Бюджет проекта"


def test_force_overwrites_admin_edits(write_content):
  path = write_content()
  content_load()
  FAQEntry.objects.filter(key="price", language="ru").update(answer="Цена по запросу.")
  rewrite(path, SMALL_CONTENT.replace("Лендинг — от 45 000 ₽.", "Лендинг — от 50 000 ₽."))

  result = content_load(force=True)

  assert result.forced is True
  assert counts(result)["faq"] == (0, 1, 3, 0, 0)
  assert FAQEntry.objects.get(key="price", language="ru").answer == "Лендинг — от 50 000 ₽."
  assert ContentLoad.objects.first().forced is True
  # and the row counts as the file's again: a later file change applies
  rewrite(path, SMALL_CONTENT)
  assert counts(content_load())["faq"] == (0, 1, 3, 0, 0)


def test_admin_deactivation_is_an_edit_that_is_kept(write_content):
  path = write_content()
  content_load()
  CatalogService.objects.filter(slug="landing", language="en").update(active=False)
  rewrite(path, SMALL_CONTENT.replace("A one-page site.", "One page."))

  result = content_load()

  assert counts(result)["catalog"] == (0, 0, 2, 1, 0)
  row = CatalogService.objects.get(slug="landing", language="en")
  assert (row.active, row.description) == (False, "A one-page site.")


def test_row_created_in_the_admin_is_not_overwritten_by_a_new_file_item(write_content):
  FAQEntry.objects.create(key="price", language="ru", question="Цены?", answer="Спросите нас.")
  write_content()

  result = content_load()

  assert counts(result)["faq"] == (3, 0, 0, 1, 0)
  assert FAQEntry.objects.get(key="price", language="ru").answer == "Спросите нас."
  assert "faq:price:ru" not in ContentLoad.objects.first().items


def test_removed_item_edited_in_the_admin_is_kept_active(write_content):
  path = write_content()
  content_load()
  FAQEntry.objects.filter(key="timeline", language="en").update(answer="About a month.")

  rewrite(path, SMALL_CONTENT.replace("timeline", "timing"))
  result = content_load()

  assert counts(result)["faq"] == (2, 0, 2, 1, 1)
  assert FAQEntry.objects.get(key="timeline", language="en").active is True
  assert FAQEntry.objects.get(key="timeline", language="ru").active is False


def test_admin_edited_prompt_is_kept(write_content):
  from llm.prompts import prompt_update

  path = write_content()
  content_load()
  prompt = Prompt.objects.get(key="system", language="ru")
  prompt_update(prompt=prompt, text="Ты вежливый консультант.")
  rewrite(path, SMALL_CONTENT.replace("Ты консультант студии", "Ты консультант веб-студии"))

  result = content_load()

  assert counts(result)["prompts"] == (0, 0, 3, 1, 0)
  prompt.refresh_from_db()
  assert (prompt.text, prompt.version) == ("Ты вежливый консультант.", 2)


# --- a broken file never touches the database ---------------------------------------------------
def test_invalid_file_changes_nothing(write_content):
  path = write_content()
  content_load()
  rewrite(
    path,
    SMALL_CONTENT.replace("Лендинг — от 45 000 ₽.", "x").replace("price: 45000", "price: lots"),
  )

  with pytest.raises(ContentError) as caught:
    content_load()

  assert caught.value.problems == [
    f"{path}: catalog[0] (slug 'landing'): price: 'lots' is not a number"
  ]
  assert FAQEntry.objects.get(key="price", language="ru").answer == "Лендинг — от 45 000 ₽."
  assert ContentLoad.objects.count() == 1


def test_database_error_in_the_middle_rolls_everything_back(write_content, monkeypatch):
  write_content()

  def fail(*args, **kwargs):
    raise RuntimeError("disk full")

  monkeypatch.setattr(content_module, "_deactivate", fail)
  content_load()  # nothing to deactivate on a first load: succeeds
  monkeypatch.setattr(content_module, "_write_prompt", fail)
  FAQEntry.objects.all().delete()
  Prompt.objects.all().delete()

  with pytest.raises(RuntimeError):
    content_load()

  assert FAQEntry.objects.count() == 0
  assert ContentLoad.objects.count() == 1


# --- hot reload ---------------------------------------------------------------------------------
def test_reload_loads_at_start_then_only_on_change(write_content):
  # given
  path = write_content()

  # when / then: the first check loads the file
  first = content_reload_if_changed()
  assert counts(first)["faq"] == (4, 0, 0, 0, 0)
  # an untouched file is not even read again
  assert content_reload_if_changed() is None
  # an edited file is loaded on the next check
  rewrite(path, SMALL_CONTENT.replace("Лендинг — от 45 000 ₽.", "Лендинг — от 50 000 ₽."))
  second = content_reload_if_changed()
  assert counts(second)["faq"] == (0, 1, 3, 0, 0)
  assert ContentLoad.objects.count() == 2


def test_reload_skips_a_file_already_loaded_by_another_process(write_content):
  write_content()
  content_load()  # e.g. `manage.py load_content` before the bot started
  content_watch_reset()

  assert content_reload_if_changed() is None
  assert ContentLoad.objects.count() == 1


def test_touched_but_identical_file_is_not_reloaded(write_content):
  path = write_content()
  content_reload_if_changed()

  rewrite(path, SMALL_CONTENT)

  assert content_reload_if_changed() is None
  assert ContentLoad.objects.count() == 1


def test_reload_is_throttled(write_content, settings, monkeypatch):
  # given
  settings.CONTENT_RELOAD_SECONDS = 60
  clock = [1000.0]
  monkeypatch.setattr(content_module.time, "monotonic", lambda: clock[0])
  path = write_content()
  content_reload_if_changed()
  rewrite(path, SMALL_CONTENT.replace("Лендинг — от 45 000 ₽.", "Лендинг — от 50 000 ₽."))

  # when / then
  clock[0] += 59
  assert content_reload_if_changed() is None
  clock[0] += 1
  assert counts(content_reload_if_changed())["faq"] == (0, 1, 3, 0, 0)


def test_reload_disabled_without_a_content_file():
  assert content_reload_if_changed() is None


def test_reload_is_skipped_while_another_thread_checks(write_content):
  write_content()
  content_module._watch_lock.acquire()
  try:
    result = content_reload_if_changed()
  finally:
    content_module._watch_lock.release()

  assert result is None
  assert FAQEntry.objects.count() == 0


def test_invalid_file_on_reload_is_logged_once_and_changes_nothing(write_content, caplog):
  # given
  path = write_content()
  content_reload_if_changed()
  rewrite(path, "faq: 5\n")

  # when
  with caplog.at_level(logging.ERROR, logger="leads.content"):
    assert content_reload_if_changed() is None
    assert content_reload_if_changed() is None

  # then
  assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
    f"Content file {path} is invalid; nothing was changed:\n{path}: faq: expected a list of items"
  ]
  assert FAQEntry.objects.count() == 4
  # fixing the file applies it
  rewrite(path, SMALL_CONTENT.replace("Лендинг — от 45 000 ₽.", "Лендинг — от 50 000 ₽."))
  assert counts(content_reload_if_changed())["faq"] == (0, 1, 3, 0, 0)


def test_missing_file_on_reload_is_logged_once(settings, tmp_path, caplog):
  settings.CONTENT_FILE = str(tmp_path / "gone.yaml")

  with caplog.at_level(logging.WARNING, logger="leads.content"):
    assert content_reload_if_changed() is None
    assert content_reload_if_changed() is None

  assert caplog.messages == [
    f"Content file {tmp_path / 'gone.yaml'} not found; the database content stays as it is"
  ]


def test_selectors_see_an_edited_file_on_the_next_call(write_content):
  # given
  path = write_content()
  assert faq_search(query="сколько стоит сайт", language="ru", limit=1)[0][0].answer == (
    "Лендинг — от 45 000 ₽."
  )

  # when
  rewrite(path, SMALL_CONTENT.replace("Лендинг — от 45 000 ₽.", "Лендинг — от 50 000 ₽."))

  # then
  found = faq_search(query="сколько стоит сайт", language="ru", limit=1)
  assert found[0][0].answer == "Лендинг — от 50 000 ₽."


def test_database_error_during_reload_is_logged_and_retried(write_content, monkeypatch, caplog):
  # given
  from django.db import OperationalError

  path = write_content()
  real_load = content_module.content_load

  def locked(**kwargs):
    raise OperationalError("database is locked")

  monkeypatch.setattr(content_module, "content_load", locked)

  # when
  with caplog.at_level(logging.ERROR, logger="leads.content"):
    assert content_reload_if_changed() is None

  # then
  assert caplog.records[-1].getMessage() == f"Content file {path} could not be loaded; will retry"
  monkeypatch.setattr(content_module, "content_load", real_load)
  assert counts(content_reload_if_changed())["faq"] == (4, 0, 0, 0, 0)
