"""`manage.py load_content`: summary table, dry run, force, errors, progress on big files."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from leads.management.commands import load_content as command_module
from leads.models import ContentLoad, FAQEntry
from tests.leads.conftest import SMALL_CONTENT
from tests.leads.test_content import rewrite

pytestmark = pytest.mark.django_db

HEADER = "  section     created  updated  unchanged   kept  deactivated"


def run(*args: str) -> list[str]:
  out = StringIO()
  call_command("load_content", *args, stdout=out)
  return out.getvalue().splitlines()


def test_loads_the_configured_file_and_prints_a_summary(write_content):
  path = write_content()

  lines = run()

  assert lines == [
    f"Content file {path}",
    HEADER,
    "  prompts           4        0          0      0            0",
    "  faq               4        0          0      0            0",
    "  catalog           3        0          0      0            0",
    "  scenarios         2        0          0      0            0",
    "Done.",
  ]
  assert FAQEntry.objects.count() == 4


def test_file_option_and_dry_run(tmp_path):
  path = tmp_path / "other.yaml"
  path.write_text(SMALL_CONTENT, encoding="utf-8")

  lines = run("--file", str(path), "--dry-run")

  assert lines[0] == f"Content file {path} (dry run: nothing written)"
  assert lines[-1] == "Valid."
  assert FAQEntry.objects.count() == 0
  assert ContentLoad.objects.count() == 0


def test_kept_admin_edits_are_reported_and_force_overwrites_them(write_content):
  # given
  path = write_content()
  run()
  FAQEntry.objects.filter(key="price", language="en").update(answer="Ask us.")
  rewrite(path, SMALL_CONTENT.replace("A landing page starts at 45,000 RUB.", "From 50,000 RUB."))

  # when
  kept = run()
  forced = run("--force")

  # then
  assert kept[3] == "  faq               0        0          3      1            0"
  assert kept[-2] == "1 row(s) edited in the admin were kept; use --force to overwrite them."
  assert forced[3] == "  faq               0        1          3      0            0"
  assert FAQEntry.objects.get(key="price", language="en").answer == "From 50,000 RUB."


def test_invalid_file_fails_with_every_problem_and_writes_nothing(write_content):
  path = write_content("faq:\n  - key: a\n    ru: {question: q}\ncatalog: 5\n")

  with pytest.raises(CommandError) as caught:
    run()

  assert str(caught.value) == (
    "Content not loaded, the database is unchanged:\n"
    f"{path}: faq[0] (key 'a'): ru.answer: is missing\n"
    f"{path}: catalog: expected a list of items"
  )
  assert FAQEntry.objects.count() == 0


def test_no_content_file_configured():
  with pytest.raises(CommandError) as caught:
    run()

  assert str(caught.value) == "CONTENT_FILE is 'none'; pass --file PATH to load a content file."


def test_big_files_show_progress(write_content, monkeypatch):
  monkeypatch.setattr(command_module, "PROGRESS_EVERY", 2)
  faq = "".join(
    f"  - key: q{n}\n    en:\n      question: Question {n}?\n      answer: Answer {n}.\n"
    for n in range(5)
  )
  write_content(f"faq:\n{faq}")

  lines = run()

  assert lines[:3] == ["  faq: 2/5", "  faq: 4/5", "  faq: 5/5"]
  assert FAQEntry.objects.count() == 5


def test_loads_the_shipped_default_content(settings):
  settings.CONTENT_FILE = "content/default.yaml"

  lines = run()

  assert lines[2] == "  prompts          24        0          0      0            0"
  assert lines[3] == "  faq              26        0          0      0            0"
  assert lines[4] == "  catalog          14        0          0      0            0"
  assert lines[5] == "  scenarios         4        0          0      0            0"
