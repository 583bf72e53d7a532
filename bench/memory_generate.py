"""Generate the memory benchmark database: 1,000,000 messages from 10,000 customers.

    python -m bench.memory_generate --db sqlite      # var/bench/memory.sqlite3
    python -m bench.memory_generate --db postgres    # database bench_memory (re-created)

One heavy customer has 200,000 messages, one has 50,000 (long-term retrieval), one has 100; the
rest share what is left. Messages are interleaved in time across customers as in real life (a
customer's messages are scattered over the table, not stored together), alternate customer /
assistant, and are built from Russian and English consulting phrases in many word forms plus
Zipf-distributed filler words, so the full-text index has realistic posting lists. Rows go in
through plain multi-row INSERTs (SQLite) / COPY (PostgreSQL) with the search triggers active:
the index is built exactly as in production.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta

from bench.memory_common import (
  HEAVY,
  PG_NAME,
  RETRIEVAL,
  SMALL,
  SQLITE_PATH,
  Progress,
  database_argument,
  django_start,
  postgres_url,
)
from bench.memory_texts import message_text

BATCH = 5000


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  database_argument(parser)
  parser.add_argument("--messages", type=int, default=1_000_000)
  parser.add_argument("--customers", type=int, default=10_000)
  parser.add_argument("--heavy", type=int, default=200_000)
  parser.add_argument("--retrieval", type=int, default=50_000)
  parser.add_argument("--small", type=int, default=100)
  parser.add_argument("--seed", type=int, default=42)
  args = parser.parse_args()
  _fresh_database(args.db)
  django_start(args.db)
  from django.core.management import call_command

  call_command("migrate", verbosity=0)
  counts = _message_counts(args)
  chats = _create_people(counts)
  seconds = _insert_messages(args.db, chats, counts, seed=args.seed)
  _analyze(args.db)
  print(
    f"Generated {sum(counts.values()):,} messages for {len(counts):,} customers in {seconds:.0f} s"
  )


def _fresh_database(db: str) -> None:
  if db == "sqlite":
    for suffix in ("", "-wal", "-shm"):
      SQLITE_PATH.with_name(SQLITE_PATH.name + suffix).unlink(missing_ok=True)
    return
  import psycopg

  with psycopg.connect(postgres_url("postgres"), autocommit=True) as connection:
    connection.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
    connection.execute(f"CREATE DATABASE {PG_NAME}")


def _message_counts(args: argparse.Namespace) -> dict[str, int]:
  """Messages per customer external id: the three named customers, then an even split."""
  named = {HEAVY: args.heavy, RETRIEVAL: args.retrieval, SMALL: args.small}
  others = args.customers - len(named)
  rest = args.messages - sum(named.values())
  counts = dict(named)
  for n in range(others):
    counts[f"c{n}"] = rest // others + (1 if n < rest % others else 0)
  return counts


def _create_people(counts: dict[str, int]) -> dict[str, tuple[int, int]]:
  """One customer and one private chat each; returns external id -> (customer pk, chat pk)."""
  from leads.models import Customer
  from memory.models import Chat

  ids = list(counts)
  Customer.objects.bulk_create(
    [Customer(channel="bench", external_id=i, first_name=f"C{i}") for i in ids], batch_size=2000
  )
  Chat.objects.bulk_create(
    [Chat(channel="bench", external_id=i, type=Chat.Type.PRIVATE) for i in ids], batch_size=2000
  )
  customers = dict(Customer.objects.filter(channel="bench").values_list("external_id", "pk"))
  chats = dict(Chat.objects.filter(channel="bench").values_list("external_id", "pk"))
  return {i: (customers[i], chats[i]) for i in ids}


def _timeline(counts: dict[str, int], rng: random.Random) -> list[str]:
  """Who writes each next message: every customer's messages scattered over the whole table."""
  order = [external_id for external_id, count in counts.items() for _ in range(count)]
  rng.shuffle(order)
  return order


def _rows(chats: dict[str, tuple[int, int]], counts: dict[str, int], seed: int):
  rng = random.Random(seed)
  start = datetime(2024, 1, 1, tzinfo=UTC)
  step = timedelta(days=700) / max(sum(counts.values()), 1)
  turn = dict.fromkeys(counts, 0)
  for n, external_id in enumerate(_timeline(counts, rng)):
    customer_id, chat_id = chats[external_id]
    role = "user" if turn[external_id] % 2 == 0 else "assistant"
    turn[external_id] += 1
    yield (chat_id, customer_id, role, message_text(rng, role=role), start + step * n)


def _insert_messages(db: str, chats, counts, *, seed: int) -> float:
  from django.db import connection, transaction

  total = sum(counts.values())
  if db == "sqlite":
    with connection.cursor() as cursor:  # a throw-away file: skip fsyncs, keep pages in memory
      cursor.execute("PRAGMA synchronous=OFF")
      cursor.execute("PRAGMA cache_size=-262144")
  progress = Progress("messages", total)
  batch: list[tuple] = []
  done = 0
  for row in _rows(chats, counts, seed):
    batch.append(row)
    if len(batch) == BATCH:
      with transaction.atomic():
        _write(db, connection, batch)
      done += len(batch)
      progress.update(done)
      batch = []
  if batch:
    with transaction.atomic():
      _write(db, connection, batch)
    progress.update(done + len(batch))
  return progress.finish()


_COLUMNS = "chat_id, customer_id, role, text, kind, addressed, is_fallback, model_name, created_at"


def _write(db: str, connection, batch: list[tuple]) -> None:
  rows = [
    (chat, who, role, text, "text", True, False, "", at) for chat, who, role, text, at in batch
  ]
  with connection.cursor() as cursor:
    if db == "postgres":
      with cursor.cursor.copy(f"COPY memory_message ({_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
          copy.write_row(row)
    else:
      cursor.executemany(
        f"INSERT INTO memory_message ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        # Django keeps SQLite datetimes as naive UTC text.
        [(*row[:-1], row[-1].replace(tzinfo=None).isoformat(sep=" ")) for row in rows],
      )


def _analyze(db: str) -> None:
  from django.db import connection

  from memory import search_schema

  search_schema.optimize(connection)
  with connection.cursor() as cursor:  # Django runs in autocommit here, so VACUUM is allowed
    cursor.execute("VACUUM ANALYZE memory_message" if db == "postgres" else "ANALYZE")


if __name__ == "__main__":
  main()
