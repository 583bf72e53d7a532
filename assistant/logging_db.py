"""Database log sink: `assistant.models.LogRecord` rows, viewable and filterable in the admin.

Rows are written by the queue's worker thread on its own connection, in autocommit, closed after
every batch: a caller inside a transaction that later rolls back still gets its log rows, and the
sink never holds a pooled PostgreSQL connection or an SQLite write lock between batches.
"""

import time
from datetime import datetime

from assistant.logging_queue import QueuedSinkHandler

# Records logged while Django is still starting wait this long for the app registry.
APPS_READY_TIMEOUT = 30.0


def _wait_for_apps(timeout: float) -> None:
  from django.apps import apps

  deadline = time.monotonic() + timeout
  while not apps.ready:
    if time.monotonic() > deadline:
      raise RuntimeError("Django apps never became ready")
    time.sleep(0.05)


class DatabaseHandler(QueuedSinkHandler):
  """Writes log records to the database in batches from a background thread."""

  thread_name = "log-db-writer"

  def write_batch(self, batch: list[dict]) -> None:
    _wait_for_apps(APPS_READY_TIMEOUT)
    from django.db import connections

    from assistant.models import LogRecord

    rows = [_row(item) for item in batch]
    try:
      LogRecord.objects.bulk_create(rows)
    finally:
      connections.close_all()  # this thread's connections only


def _row(item: dict):
  from assistant.models import LogRecord

  return LogRecord(
    created_at=datetime.fromisoformat(item["time"]),
    level=item["level_no"],
    level_name=item["level"][:10],
    logger_name=item["logger"][:200],
    message=item["message"],
    module=item["module"][:200],
    func_name=item["function"][:200],
    line_no=item["line"] if item["line"] and item["line"] > 0 else None,
    exception=item["exception"],
  )
