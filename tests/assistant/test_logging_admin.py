"""The LogRecord admin (read-only list with filters and search) and `manage.py prune_logs`."""

import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from assistant.models import LogRecord

CHANGELIST = "admin:assistant_logrecord_changelist"


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
  """No collectstatic manifest in tests: admin pages use plain static URLs."""
  settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
  }


def log_row(*, level: int = logging.INFO, logger: str = "bot.app", message: str = "m", age_days=0):
  return LogRecord.objects.create(
    created_at=timezone.now() - timedelta(days=age_days),
    level=level,
    level_name=logging.getLevelName(level),
    logger_name=logger,
    message=message,
  )


def listed(response) -> list[str]:
  return sorted(row.message for row in response.context["cl"].result_list)


@pytest.fixture
def rows(db):
  return [
    log_row(level=logging.DEBUG, logger="llm.client", message="request metadata"),
    log_row(level=logging.INFO, logger="bot.app", message="bot started"),
    log_row(level=logging.WARNING, logger="bot.app", message="telegram slow"),
    log_row(level=logging.ERROR, logger="llm.client", message="model failed\nTraceback..."),
  ]


def test_changelist_lists_records_with_level_and_short_message(admin_client, rows):
  response = admin_client.get(reverse(CHANGELIST))

  assert response.status_code == 200
  assert listed(response) == [
    "bot started",
    "model failed\nTraceback...",
    "request metadata",
    "telegram slow",
  ]
  content = response.content.decode()
  assert '<b style="color: #dc3545">ERROR</b>' in content
  assert "Traceback..." not in content  # only the first line in the list


@pytest.mark.parametrize(
  ("query", "expected"),
  [
    ({"level_gte": "30"}, ["model failed\nTraceback...", "telegram slow"]),
    ({"logger_name": "llm.client"}, ["model failed\nTraceback...", "request metadata"]),
    ({"q": "started"}, ["bot started"]),
    ({"level_gte": "40", "logger_name": "bot.app"}, []),
  ],
)
def test_changelist_filters_and_search(admin_client, rows, query, expected):
  response = admin_client.get(reverse(CHANGELIST), query)

  assert listed(response) == expected


def test_date_filter_keeps_recent_records(admin_client, rows):
  log_row(message="last month", age_days=40)
  midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)

  # when: the filter's "Past 7 days" link
  response = admin_client.get(
    reverse(CHANGELIST), {"created_at__gte": str(midnight - timedelta(days=7))}
  )

  # then

  assert "last month" not in listed(response)
  assert len(listed(response)) == 4


def test_records_are_read_only_and_cannot_be_added(admin_client, rows):
  record = rows[3]
  change_url = reverse("admin:assistant_logrecord_change", args=[record.pk])

  assert admin_client.get(reverse("admin:assistant_logrecord_add")).status_code == 403
  page = admin_client.get(change_url)
  assert page.status_code == 200
  assert 'name="message"' not in page.content.decode()  # shown as text, not a form field
  assert admin_client.post(change_url, {"message": "edited"}).status_code == 403
  record.refresh_from_db()
  assert record.message == "model failed\nTraceback..."


def test_short_message_cuts_long_first_lines():
  from django.contrib import admin

  model_admin = admin.site._registry[LogRecord]

  assert model_admin.short_message(LogRecord(message="x" * 200)) == "x" * 147 + "..."
  assert model_admin.short_message(LogRecord(message="")) == ""


def test_prune_logs_deletes_old_records_in_batches(db):
  # given five old records and two recent ones
  for _ in range(5):
    log_row(message="old", age_days=10)
  log_row(message="recent", age_days=6)
  log_row(message="new")
  out = StringIO()

  # when
  call_command("prune_logs", days=7, batch_size=2, stdout=out)

  # then
  assert out.getvalue().splitlines() == [
    "deleted 2/5",
    "deleted 4/5",
    "deleted 5/5",
    "Deleted 5 log records older than 7 days.",
  ]
  assert sorted(LogRecord.objects.values_list("message", flat=True)) == ["new", "recent"]


def test_prune_logs_defaults_to_the_retention_setting(db, settings):
  settings.LOG_DB_RETENTION_DAYS = 3
  log_row(message="old", age_days=4)
  log_row(message="kept", age_days=2)

  call_command("prune_logs", stdout=StringIO())

  assert list(LogRecord.objects.values_list("message", flat=True)) == ["kept"]


def test_prune_logs_dry_run_and_nothing_to_do(db):
  log_row(message="old", age_days=40)
  out = StringIO()

  call_command("prune_logs", days=30, dry_run=True, stdout=out)
  call_command("prune_logs", days=50, stdout=out)

  assert out.getvalue().splitlines() == [
    "1 log records older than 30 days would go.",
    "0 log records older than 50 days.",
  ]
  assert LogRecord.objects.count() == 1


@pytest.mark.parametrize("options", [{"days": -1}, {"batch_size": 0}])
def test_prune_logs_rejects_bad_arguments(db, options):
  with pytest.raises(CommandError, match="--days must be >= 0 and --batch-size >= 1"):
    call_command("prune_logs", stdout=StringIO(), **options)
