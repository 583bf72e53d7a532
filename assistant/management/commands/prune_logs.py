"""Delete database log records older than the retention period, in small batches."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from assistant.models import LogRecord


class Command(BaseCommand):
  help = "Delete log records older than --days (default LOG_DB_RETENTION_DAYS) in batches."

  def add_arguments(self, parser: CommandParser) -> None:
    parser.add_argument(
      "--days", type=int, default=None, help="Keep this many days (default LOG_DB_RETENTION_DAYS)."
    )
    parser.add_argument(
      "--batch-size", type=int, default=1000, help="Rows deleted per statement (default 1000)."
    )
    parser.add_argument("--dry-run", action="store_true", help="Only count what would go.")

  def handle(self, *args, days: int | None, batch_size: int, dry_run: bool, **options) -> None:
    days = settings.LOG_DB_RETENTION_DAYS if days is None else days
    if days < 0 or batch_size < 1:
      raise CommandError("--days must be >= 0 and --batch-size >= 1")
    cutoff = timezone.now() - timedelta(days=days)
    old = LogRecord.objects.filter(created_at__lt=cutoff)
    total = old.count()
    if dry_run or not total:
      self.stdout.write(
        f"{total} log records older than {days} days{' would go' if dry_run else ''}."
      )
      return
    deleted = 0
    # Short statements: the bot keeps writing logs while this runs (SQLite has one writer).
    while ids := list(old.order_by("pk").values_list("pk", flat=True)[:batch_size]):
      deleted += LogRecord.objects.filter(pk__in=ids).delete()[0]
      self.stdout.write(f"deleted {deleted}/{total}")
    self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} log records older than {days} days."))
