"""Memory benchmarks on the generated database (run bench.memory_generate first).

    python -m bench.memory_bench --db sqlite
    python -m bench.memory_bench --db postgres

1. context_build (history + long-term search) for the 200,000-message customer vs. the 100-message
   one: mean time ratio (target <= 1.5).
2. Long-term retrieval (message_search) for the 50,000-message customer: p95 (target <= 20 ms).
3. Process RSS over 100,000 context builds after warm-up, across random customers: growth
   (target <= 10%).
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import time
from collections.abc import Callable

from bench.memory_common import HEAVY, RETRIEVAL, SMALL, Progress, database_argument, django_start
from bench.memory_texts import RETRIEVAL_QUERIES


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  database_argument(parser)
  parser.add_argument("--runs", type=int, default=2000, help="Timed runs per latency measurement.")
  parser.add_argument("--rss-builds", type=int, default=100_000)
  parser.add_argument("--warmup", type=int, default=5_000)
  args = parser.parse_args()
  django_start(args.db)
  from django.db import connection

  results = [
    *_context_ratio(args.runs),
    _retrieval(args.runs),
    _rss(args.rss_builds, args.warmup),
  ]
  _print_table(args.db, connection, results)


def _people(external_id: str):
  from leads.models import Customer
  from memory.models import Chat

  customer = Customer.objects.get(channel="bench", external_id=external_id)
  return customer, Chat.objects.get(channel="bench", external_id=external_id)


def _timed(call: Callable[[], object], runs: int) -> list[float]:
  """Milliseconds per call, after 50 untimed warm-up calls."""
  for _ in range(50):
    call()
  times = []
  for _ in range(runs):
    started = time.perf_counter()
    call()
    times.append((time.perf_counter() - started) * 1000)
  return times


def _timed_pair(first: Callable[[], object], second: Callable[[], object], runs: int):
  """Like _timed for two calls, alternating them so both see the same machine load."""
  for _ in range(50):
    first()
    second()
  times: tuple[list[float], list[float]] = ([], [])
  for _ in range(runs):
    for call, bucket in ((first, times[0]), (second, times[1])):
      started = time.perf_counter()
      call()
      bucket.append((time.perf_counter() - started) * 1000)
  return times


def _p95(times: list[float]) -> float:
  return statistics.quantiles(times, n=20)[-1]


def _context_ratio(runs: int) -> list[tuple[str, str, str, bool]]:
  from django.test import override_settings

  from memory.selectors import context_build

  heavy_people, small_people = _people(HEAVY), _people(SMALL)
  queries = RETRIEVAL_QUERIES
  rows = []
  for label, long_term in (("context_build", True), ("context_build, history only", False)):
    calls = []
    for customer, chat in (heavy_people, small_people):
      counter = iter(range(10**9))
      calls.append(
        lambda c=customer, h=chat, n=counter: context_build(
          customer=c, chat=h, query=queries[next(n) % len(queries)]
        )
      )
    with override_settings(LONG_TERM_MEMORY_ENABLED=long_term):
      heavy_times, small_times = _timed_pair(calls[0], calls[1], runs)
    heavy, small = statistics.mean(heavy_times), statistics.mean(small_times)
    rows.append(
      (
        f"{label}: 200k-message vs 100-message customer, mean time ratio",
        f"{heavy / small:.2f} ({heavy:.2f} ms vs {small:.2f} ms; p95 "
        f"{_p95(heavy_times):.2f} vs {_p95(small_times):.2f} ms)",
        "≤ 1.5",
        heavy / small <= 1.5,
      )
    )
  return rows


def _retrieval(runs: int) -> tuple[str, str, str, bool]:
  from memory.search import message_search

  customer, chat = _people(RETRIEVAL)
  queries = iter(RETRIEVAL_QUERIES * (runs + 100))
  hits = []

  def search() -> None:
    hits.append(len(message_search(customer=customer, chat=chat, query=next(queries), limit=3)))

  times = _timed(search, runs)
  p95 = _p95(times)
  return (
    "Long-term retrieval, customer with 50,000 messages: p95",
    f"{p95:.2f} ms (p50 {statistics.median(times):.2f}, max {max(times):.2f}; "
    f"{sum(hits) / len(hits):.1f} hits per query)",
    "≤ 20 ms",
    p95 <= 20,
  )


def _rss_kib() -> int:
  with open("/proc/self/statm") as statm:
    resident_pages = int(statm.read().split()[1])
  return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _rss(builds: int, warmup: int) -> tuple[str, str, str, bool]:
  from leads.models import Customer
  from memory.models import Chat
  from memory.selectors import context_build

  rng = random.Random(7)
  customers = {c.external_id: c for c in Customer.objects.filter(channel="bench")}
  chats = {c.external_id: c for c in Chat.objects.filter(channel="bench")}
  ids = sorted(customers)
  progress = Progress("context builds", warmup + builds)
  baseline = 0
  for n in range(warmup + builds):
    external_id = rng.choice(ids)
    context_build(
      customer=customers[external_id], chat=chats[external_id], query=rng.choice(RETRIEVAL_QUERIES)
    )
    if n + 1 == warmup:
      gc.collect()
      baseline = _rss_kib()
    if (n + 1) % 1000 == 0:
      progress.update(n + 1)
  seconds = progress.finish()
  gc.collect()
  final = _rss_kib()
  growth = 100 * (final - baseline) / baseline
  return (
    f"RSS over {builds:,} context builds after {warmup:,} warm-up builds",
    f"{baseline / 1024:.1f} → {final / 1024:.1f} MiB ({growth:+.1f}%; {seconds:.0f} s)",
    "≤ 10%",
    growth <= 10,
  )


def _print_table(db: str, connection, results) -> None:
  with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM memory_message")
    messages = cursor.fetchone()[0]
  version = connection.Database.sqlite_version if db == "sqlite" else connection.pg_version
  print(
    f"\n{db} {version}, {messages:,} messages; Python {platform.python_version()}, "
    f"{platform.machine()}, {os.cpu_count()} CPUs\n"
  )
  print("| measure | result | target | met |")
  print("|---|---|---|---|")
  for measure, result, target, met in results:
    print(f"| {measure} | {result} | {target} | {'yes' if met else '**no**'} |")


if __name__ == "__main__":
  main()
