"""Every message has a Russian translation; English msgids stand for themselves."""

import os
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

LOCALE = Path(settings.BASE_DIR) / "locale"
IGNORE = [".venv", "staticfiles", "var", "node_modules", "test-artifacts"]


def _problems(po: polib.POFile, *, need_text: bool) -> list[str]:
  problems = []
  for entry in po:
    if entry.obsolete:
      continue
    if "fuzzy" in entry.flags:
      problems.append(f"fuzzy: {entry.msgid!r}")
    texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
    if need_text and not all(texts):
      problems.append(f"untranslated: {entry.msgid!r}")
  return problems


def test_russian_catalog_is_complete_and_english_is_identity():
  ru = polib.pofile(LOCALE / "ru" / "LC_MESSAGES" / "django.po")
  en = polib.pofile(LOCALE / "en" / "LC_MESSAGES" / "django.po")
  assert _problems(ru, need_text=True) == []
  assert _problems(en, need_text=False) == []
  assert not ru.metadata_is_fuzzy and not en.metadata_is_fuzzy
  assert (ru.metadata["Language"], en.metadata["Language"]) == ("ru", "en")
  assert len(ru) > 300


def test_makemessages_finds_no_message_without_a_russian_translation(
  tmp_path, settings, monkeypatch
):
  # given: a copy of the catalogs, so the real ones are untouched
  shutil.copytree(LOCALE, tmp_path / "locale")
  settings.LOCALE_PATHS = [tmp_path / "locale"]
  monkeypatch.chdir(settings.BASE_DIR)

  # when
  call_command(
    "makemessages", locale=["ru", "en"], ignore_patterns=IGNORE, no_obsolete=True, verbosity=0
  )

  # then
  ru = polib.pofile(tmp_path / "locale" / "ru" / "LC_MESSAGES" / "django.po")
  assert _problems(ru, need_text=True) == []
  assert (LOCALE / "ru" / "LC_MESSAGES" / "django.mo").exists()
  assert os.path.getsize(LOCALE / "ru" / "LC_MESSAGES" / "django.mo") > 10_000


@pytest.mark.django_db
def test_admin_pages_render_in_russian(admin_client_en):
  from django.urls import reverse

  admin_client_en.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
  html = admin_client_en.get(reverse("admin:analytics")).content.decode()
  assert "Воронка" in html and "Новые клиенты" in html and "Выгрузить" not in html
  leads = admin_client_en.get(reverse("admin:leads_lead_changelist")).content.decode()
  assert "Выгрузить XLSX" in leads and "Перевести на этап: сделка" in leads


@pytest.mark.django_db
def test_bulk_action_names_follow_the_staff_members_language(admin_client_en):
  from django.urls import reverse

  url = reverse("admin:leads_lead_changelist")
  english = admin_client_en.get(url).content.decode()
  admin_client_en.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
  russian = admin_client_en.get(url).content.decode()
  assert "Move to stage: won" in english and "Перевести" not in english
  assert "Перевести на этап: сделка" in russian
