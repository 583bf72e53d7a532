"""Shared set-up for the memory benchmarks: which database, Django start, a progress counter.

SQLite: a separate file, var/bench/memory.sqlite3. PostgreSQL: a separate database, bench_memory,
on BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) — created, or dropped
and re-created, by memory_generate. The normal database is never touched.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = ROOT / "var" / "bench" / "memory.sqlite3"
PG_NAME = "bench_memory"
# Well-known customers the generator creates and the benchmark reads (by Customer.external_id).
HEAVY, RETRIEVAL, SMALL = "heavy-200k", "retrieval-50k", "small-100"


def database_argument(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")


def postgres_url(name: str) -> str:
  server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
  parts = urlsplit(server)
  return urlunsplit(parts._replace(path=f"/{name}"))


def django_start(db: str) -> None:
  """Point Django at the benchmark database and set it up (call before importing models)."""
  if db == "sqlite":
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
  else:
    os.environ["DATABASE_URL"] = postgres_url(PG_NAME)
  os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assistant.settings")
  os.environ["LOG_LEVEL"] = "WARNING"
  sys.path.insert(0, str(ROOT))
  import django

  django.setup()


class Progress:
  """A one-line counter on stderr: done/total, percent, rate."""

  def __init__(self, label: str, total: int) -> None:
    self.label, self.total, self.started = label, total, time.monotonic()

  def update(self, done: int) -> None:
    elapsed = max(time.monotonic() - self.started, 1e-9)
    percent = 100 * done / self.total if self.total else 100
    sys.stderr.write(
      f"\r{self.label}: {done:,}/{self.total:,} ({percent:.0f}%), {done / elapsed:,.0f}/s   "
    )
    sys.stderr.flush()

  def finish(self) -> float:
    sys.stderr.write("\n")
    return time.monotonic() - self.started
