"""`manage.py load_content [--file PATH] [--dry-run] [--force]`: load the content file into the DB."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.content import ContentError, LoadResult, content_load, content_path

PROGRESS_EVERY = 500  # items between progress lines on big files


class Command(BaseCommand):
  help = (
    "Validate the content file (prompts, FAQ, catalog, scenarios) and load it into the database. "
    "Rows edited in the admin since the last load are kept unless --force."
  )

  def add_arguments(self, parser: CommandParser) -> None:
    parser.add_argument("--file", type=Path, help="content file (default: CONTENT_FILE)")
    parser.add_argument(
      "--dry-run", action="store_true", help="validate and report the changes, write nothing"
    )
    parser.add_argument(
      "--force", action="store_true", help="overwrite rows edited in the admin with the file"
    )

  def handle(self, *args, **options) -> None:
    path = options["file"] or content_path()
    if path is None:
      raise CommandError("CONTENT_FILE is 'none'; pass --file PATH to load a content file.")
    try:
      result = content_load(
        path=path, force=options["force"], dry_run=options["dry_run"], progress=self.progress
      )
    except ContentError as error:
      raise CommandError(f"Content not loaded, the database is unchanged:\n{error}") from None
    self.report(result)

  def progress(self, section: str, done: int, total: int) -> None:
    """A line every PROGRESS_EVERY items, so a big file shows it is moving."""
    if total >= PROGRESS_EVERY and (done % PROGRESS_EVERY == 0 or done == total):
      self.stdout.write(f"  {section}: {done}/{total}")

  def report(self, result: LoadResult) -> None:
    mode = " (dry run: nothing written)" if result.dry_run else ""
    self.stdout.write(f"Content file {result.path}{mode}")
    header = f"  {'section':<10} {'created':>8} {'updated':>8} {'unchanged':>10} {'kept':>6} {'deactivated':>12}"
    self.stdout.write(header)
    for name, s in result.sections.items():
      self.stdout.write(
        f"  {name:<10} {s.created:>8} {s.updated:>8} {s.unchanged:>10} {s.kept:>6} {s.deactivated:>12}"
      )
    kept = sum(s.kept for s in result.sections.values())
    if kept:
      self.stdout.write(
        self.style.WARNING(
          f"{kept} row(s) edited in the admin were kept; use --force to overwrite them."
        )
      )
    self.stdout.write(self.style.SUCCESS("Done." if not result.dry_run else "Valid."))
