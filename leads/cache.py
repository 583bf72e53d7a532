"""Process-wide caches of the rows every turn reads: FAQ, catalog, scenarios, prompts, LLM models.

These tables change rarely (admin edits, content reloads) but were read on every message, several
times. Now each cache keeps its rows until its tables' change stamps move. A stamp is the table's
row count, count of active rows and latest change time: any insert, save() or delete moves it,
and so does a bulk `update()` of `active` (other bulk updates skip `updated_at` and would not).

The stamps of all the tables are read in one query, reused for at most `stamp_max_age()` seconds:
one second, or 0 (every call) when CONTENT_RELOAD_SECONDS is 0, as in tests. So an edit made in
another process (the admin) reaches the bot within a second, and writes made in this process
call `stamps_reset()` so the next read sees them at once. Stamps read inside a transaction are
never reused: what they count may still be rolled back.

Cached rows are shared between threads: treat them as read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

T = TypeVar("T")

STAMP_MAX_AGE = 1.0  # seconds an edit made in another process may take to reach the caches
# name -> (model, column holding the row's latest change)
TABLES = {
  "faq": ("leads.FAQEntry", "updated_at"),
  "catalog": ("leads.CatalogService", "updated_at"),
  "scenario": ("leads.Scenario", "updated_at"),
  "prompt": ("llm.Prompt", "updated_at"),
  "prompt_version": ("llm.PromptVersion", "created_at"),
  "llm_model": ("llm.LLMModel", "updated_at"),
}

_stamps: dict[str, tuple] = {}
_stamps_at = float("-inf")  # time.monotonic() of the last read
_sql: dict[str, str] = {}  # vendor -> the stamps query


def stamp_max_age() -> float:
  """Seconds a read of the stamps is reused (0 = every call)."""
  return min(float(settings.CONTENT_RELOAD_SECONDS), STAMP_MAX_AGE)


def stamps_fresh() -> bool:
  """Whether the last read of the stamps may still be used without asking the database."""
  max_age = stamp_max_age()
  return max_age > 0 and 0 <= time.monotonic() - _stamps_at < max_age


def stamps() -> dict[str, tuple]:
  """{table name: (rows, active rows, latest change)} for every cached table (one query at most)."""
  global _stamps, _stamps_at
  # Inside a transaction they may count writes that will be rolled back (the admin's prompt
  # preview): then they serve this read only and are never shared with other threads.
  shared = not connection.in_atomic_block
  if shared and stamps_fresh():
    return _stamps
  now = time.monotonic()
  with connection.cursor() as cursor:
    cursor.execute(_stamps_sql())
    values = {name: tuple(stamp) for name, *stamp in cursor.fetchall()}
  if shared:
    _stamps, _stamps_at = values, now
  return values


def stamps_reset() -> None:
  """Forget the last read, so the next one asks the database (after writing to a cached table).

  Inside a transaction, once more after the commit: until then other threads see the old rows.
  """
  _forget()
  if connection.in_atomic_block:
    transaction.on_commit(_forget)


def _forget() -> None:
  global _stamps_at
  _stamps_at = float("-inf")


def _stamps_sql() -> str:
  vendor = connection.vendor
  if vendor not in _sql:
    quote = connection.ops.quote_name
    parts = []
    for name, (label, column) in TABLES.items():
      meta = apps.get_model(label)._meta
      active = (
        f"COUNT(CASE WHEN {quote('active')} THEN 1 END)" if _has_field(meta, "active") else "0"
      )
      parts.append(
        f"SELECT '{name}', COUNT(*), {active}, MAX({quote(column)}) FROM {quote(meta.db_table)}"
      )
    _sql[vendor] = " UNION ALL ".join(parts)
  return _sql[vendor]


def _has_field(meta, name: str) -> bool:
  return any(field.name == name for field in meta.concrete_fields)


class Cached(Generic[T]):
  """A value built from some tables' rows, rebuilt when their stamps move."""

  def __init__(self, *tables: str, build: Callable[[], T]) -> None:
    unknown = set(tables) - set(TABLES)
    if unknown:
      raise ValueError(f"Not a cached table: {', '.join(sorted(unknown))}")
    self.tables = tables
    self.build = build
    self._entry: tuple[tuple, T] | None = None
    self._lock = threading.Lock()

  def get(self) -> T:
    current = stamps()
    stamp = tuple(current[name] for name in self.tables)
    entry = self._entry
    if entry is not None and entry[0] == stamp:
      return entry[1]
    with self._lock:  # one thread rebuilds; the others wait for its result
      entry = self._entry
      if entry is None or entry[0] != stamp:
        # The stamp was read before the rows: a change in between only costs one more rebuild.
        entry = (stamp, self.build())
        self._entry = entry
      return entry[1]

  def peek(self) -> T | None:
    """The value if it is known to be current without asking the database, else None."""
    entry = self._entry
    if entry is None or not stamps_fresh():
      return None
    current = _stamps
    if entry[0] != tuple(current.get(name) for name in self.tables):
      return None
    return entry[1]

  def reset(self) -> None:
    self._entry = None
