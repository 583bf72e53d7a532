"""Bot-side overhead per reply on the 1M-message database (issue 5's target: p95 <= 10 ms).

    python -m bench.memory_generate --db sqlite      # once: 1,000,000 messages (see memory_common)
    python -m bench.engine_overhead --db sqlite      # or --db postgres

Runs the real engine (`assistant.engine.handle_turn`: inbound store, routing, FAQ/catalog
retrieval, short- and long-term memory, prompt build, outbound store) against a local fake
OpenAI server that answers at once, for the heavy customer (200,000 messages) and a small one
(100 messages). Overhead = the turn's wall time minus the request to the model (the SDK's
request, the HTTP exchange and the parsing of the answer: the span the engine stores as
latency_ms, timed here to the microsecond); registry lookup, prompt and token accounting count
as overhead. Then RSS growth
over `--rss-turns` further handled messages after a warm-up. Prints a Markdown table for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import statistics
import time

from bench.memory_common import HEAVY, SMALL, database_argument, django_start

QUESTIONS = [
  "Сколько стоит сайт для небольшой компании?",
  "Какие сроки разработки интернет-магазина?",
  "Вы делаете доставку документов курьером?",
  "How much is a landing page?",
  "Можно ли оплатить по счёту для юрлица?",
  "Что входит в техническую поддержку?",
]


def main() -> None:
  parser = argparse.ArgumentParser(
    description=__doc__, formatter_class=argparse.RawTextHelpFormatter
  )
  database_argument(parser)
  parser.add_argument("--turns", type=int, default=1000, help="Timed turns per customer.")
  parser.add_argument("--rss-turns", type=int, default=20_000)
  parser.add_argument("--warmup", type=int, default=2_000)
  args = parser.parse_args()
  # Every bench turn is a new question from the same few people: no budget and no flood limit,
  # but the flood count still runs. Over the default window (60 s) it would read every message
  # of the last minute (~6,000 at the bench's pace) where production's default limit (20)
  # stops it at 21 rows; over a 1-second window it reads ~100, still more than production.
  os.environ.update(FLOOD_MAX_MESSAGES="100000000", FLOOD_WINDOW_SECONDS="1")
  os.environ.update(DAILY_TOKEN_BUDGET="0", LLM_STREAMING="false")
  os.environ.update(LLM_MODELS_SOURCE="db", LONG_TERM_MEMORY_ENABLED="true")
  django_start(args.db)
  from django.core.management import call_command

  call_command("migrate", verbosity=0)  # the generated database may predate newer migrations
  asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> None:
  from django.db import connection

  from assistant.db import run_db
  from llm.client import clients_close, clients_long_lived
  from tests.fakes.openai_server import FakeOpenAIServer

  server = FakeOpenAIServer().start()
  clients_long_lived()  # as in the bot: the LLM client's aiohttp transport
  try:
    await run_db(_prepare, server.base_url)
    update_ids = itertools.count(int(time.time() * 1000) * 1000)
    rows = []
    for label, who in (
      ("heavy customer (200,000 messages)", HEAVY),
      ("small customer (100)", SMALL),
    ):
      await _turns(who, update_ids, server, 50)  # warm caches and connections
      overheads = await _turns(who, update_ids, server, args.turns)
      rows.append((label, overheads))
    rss = await _rss_growth(update_ids, server, args.warmup, args.rss_turns)
  finally:
    await clients_close()
    server.stop()
  _print(args, connection.vendor, rows, rss)


def _prepare(base_url: str) -> None:
  """One default model pointing at the fake server, and the shipped content."""
  from django.conf import settings

  from leads.content import content_load
  from llm.crypto import encrypt_api_key
  from llm.models import LLMModel

  LLMModel.objects.update(is_default=False)
  LLMModel.objects.update_or_create(
    provider_model_name="bench/fake",
    defaults={
      "provider": "openai_compatible",
      "model": "fake-model",
      "base_url": base_url,
      "encrypted_api_key": encrypt_api_key("bench-key-not-secret"),
      "is_default": True,
      "active": True,
      "fallback_order": 1,
    },
  )
  content_load(path=settings.BASE_DIR / "content" / "default.yaml")


async def _turns(who: str, update_ids, server, count: int) -> list[float]:
  """Overhead (ms) of `count` handled questions from customer `who`."""
  from assistant import engine
  from assistant.types import ChatRef, Sender, Turn
  from llm import client

  llm_seconds: list[float] = []
  create = client._create

  async def timed_create(*args, **kwargs):
    """The request to the model (the SDK builds it, sends it, parses the answer): the span the
    stored latency_ms covers, timed to the microsecond instead of whole milliseconds."""
    started = time.perf_counter()
    try:
      return await create(*args, **kwargs)
    finally:
      llm_seconds.append(time.perf_counter() - started)

  client._create = timed_create
  overheads = []
  try:
    for n in range(count):
      turn = Turn(
        channel="bench",
        sender=Sender(external_id=who, first_name="Bench", language_code="ru"),
        chat=ChatRef(external_id=who),
        text=QUESTIONS[n % len(QUESTIONS)],
        update_id=next(update_ids),
      )
      llm_seconds.clear()
      started = time.perf_counter()
      replies = await engine.handle_turn(turn)
      total = time.perf_counter() - started
      if not llm_seconds or not any(reply.message_id for reply in replies):
        raise SystemExit("The engine made no LLM call: is the bench database generated?")
      overheads.append((total - sum(llm_seconds)) * 1000)
      server.requests.clear()  # the fake server keeps every request; don't count it as our RSS
  finally:
    client._create = create
  return overheads


def _rss_kib() -> int:
  with open("/proc/self/status", encoding="ascii") as status:
    for line in status:
      if line.startswith("VmRSS:"):
        return int(line.split()[1])
  return 0


async def _rss_growth(update_ids, server, warmup: int, turns: int) -> tuple[int, int, int, int]:
  await _turns(SMALL, update_ids, server, warmup)
  gc.collect()
  before = _rss_kib()
  await _turns(SMALL, update_ids, server, turns)
  gc.collect()
  return warmup, turns, _rss_kib() - before, before


def _p(values: list[float], q: float) -> float:
  return statistics.quantiles(values, n=100)[int(q) - 1]


def _print(args, vendor: str, rows, rss) -> None:
  print(f"\nEngine overhead per reply ({vendor}, {args.turns} turns per customer)\n")
  print("| customer | p50 ms | p95 ms | max ms | target p95 <= 10 ms |")
  print("|---|---|---|---|---|")
  for label, overheads in rows:
    p95 = _p(overheads, 95)
    ok = "yes" if p95 <= 10 else "NO"
    print(f"| {label} | {_p(overheads, 50):.1f} | {p95:.1f} | {max(overheads):.1f} | {ok} |")
  warmup, turns, grown, before = rss
  percent = 100 * grown / before if before else 0.0
  print(
    f"\nRSS after {warmup:,} warm-up turns: {before / 1024:.1f} MiB; after {turns:,} more handled "
    f"messages: {(before + grown) / 1024:.1f} MiB ({percent:+.1f}%, target <= +10%)"
  )


if __name__ == "__main__":
  main()
