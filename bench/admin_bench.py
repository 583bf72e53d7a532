"""Admin benchmark: page times with 100,000 leads and 1,000,000 messages.

    python -m bench.admin_bench --db sqlite      # var/bench/admin.sqlite3
    python -m bench.admin_bench --db postgres    # database bench_admin (re-created on --generate)

The data is generated on the first run (or with --generate): 20,000 customers, 100,000 leads
and 1,000,000 messages over the last 365 days (one chat holds 5,000 of them), 20,000 ratings.
Then each page is requested through Django's test client as a logged-in superuser: one warm-up
and --runs timed requests; the median is reported with the target from issue 6. Not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = ROOT / "var" / "bench" / "admin.sqlite3"
PG_NAME = "bench_admin"
LONG_CHAT = "long-chat-5000"
BATCH = 10_000
MODELS = ["openai/gpt-4o-mini", "anthropic/claude-haiku", "local/qwen"]
STAGES = ["new"] * 50 + ["qualified"] * 20 + ["contacted"] * 15 + ["won"] * 8 + ["lost"] * 7


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
  parser.add_argument("--generate", action="store_true", help="re-create the data first")
  parser.add_argument("--runs", type=int, default=5)
  parser.add_argument("--leads", type=int, default=100_000)
  parser.add_argument("--messages", type=int, default=1_000_000)
  args = parser.parse_args()
  fresh = args.generate or not _exists(args.db)
  if fresh:
    _fresh_database(args.db)
  _django_start(args.db)
  if fresh:
    started = time.monotonic()
    _generate(args.db, leads=args.leads, messages=args.messages)
    print(f"generated in {time.monotonic() - started:.0f} s")
  _report(args.db, _measure(runs=args.runs))


# --- database ------------------------------------------------------------------------------------
def _postgres_url(name: str) -> str:
  server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
  return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def _exists(db: str) -> bool:
  if db == "sqlite":
    return SQLITE_PATH.exists()
  import psycopg

  with psycopg.connect(_postgres_url("postgres"), autocommit=True) as connection:
    row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_NAME]).fetchone()
  return row is not None


def _fresh_database(db: str) -> None:
  if db == "sqlite":
    for suffix in ("", "-wal", "-shm"):
      SQLITE_PATH.with_name(SQLITE_PATH.name + suffix).unlink(missing_ok=True)
    return
  import psycopg

  with psycopg.connect(_postgres_url("postgres"), autocommit=True) as connection:
    connection.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
    connection.execute(f"CREATE DATABASE {PG_NAME}")


def _django_start(db: str) -> None:
  if db == "sqlite":
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
  else:
    os.environ["DATABASE_URL"] = _postgres_url(PG_NAME)
  os.environ.update(DJANGO_SETTINGS_MODULE="assistant.settings", LOG_LEVEL="WARNING")
  os.environ["STATIC_MANIFEST"] = "false"  # no collectstatic needed for {% static %}
  sys.path.insert(0, str(ROOT))
  import django

  django.setup()
  from django.core.management import call_command

  call_command("migrate", verbosity=0)


# --- data ----------------------------------------------------------------------------------------
def _generate(db: str, *, leads: int, messages: int) -> None:
  from django.contrib.auth.models import User

  from leads.models import CatalogService, Customer
  from memory.models import Chat

  rng = random.Random(6)
  now = datetime.now(UTC)
  year = [now - timedelta(seconds=rng.uniform(0, 365 * 86400)) for _ in range(20_000)]
  User.objects.create_superuser("bench", "bench@example.com", "bench-Password-1")
  services = CatalogService.objects.bulk_create(
    [
      CatalogService(slug=f"svc-{n}", name=f"Service {n}", price=Decimal(1000 * n))
      for n in range(10)
    ]
  )
  Customer.objects.bulk_create(
    [
      Customer(
        channel="bench",
        external_id=str(n),
        first_name=f"Name{n}",
        username=f"user{n}",
        consent=rng.choice(["given", "unknown", "refused"]),
        phone=f"+7999{n:07d}",
      )
      for n in range(20_000)
    ],
    batch_size=5000,
  )
  customers = list(Customer.objects.values_list("pk", flat=True))
  Customer.objects.bulk_update(
    [Customer(pk=pk, created_at=when) for pk, when in zip(customers, year, strict=True)],
    ["created_at"],
    batch_size=5000,
  )
  chats = Chat.objects.bulk_create(
    [Chat(channel="bench", external_id=str(pk), title=f"Chat {pk}") for pk in customers],
    batch_size=5000,
  )
  chats.append(Chat.objects.create(channel="bench", external_id=LONG_CHAT, title="Long chat"))
  _leads(rng, now, customers, services, leads)
  chat_ids = [chat.pk for chat in chats]
  _messages(db, rng, now, customers, chat_ids, messages)
  _feedback(rng, now)
  _analyze(db)


def _leads(
  rng: random.Random, now: datetime, customers: list[int], services: list, total: int
) -> None:
  from leads.models import Lead

  for start in range(0, total, BATCH):
    rows = [
      Lead(
        customer_id=rng.choice(customers),
        stage=rng.choice(STAGES),
        service=rng.choice(services + [None]),
        source=rng.choice(["telegram", "telegram", "website", "console"]),
        name=f"Lead {start + n}",
        phone=f"+7912{start + n:07d}",
        answers={"budget": rng.choice(["< 50k", "50-100k", "> 100k"]), "goal": "A website"},
      )
      for n in range(min(BATCH, total - start))
    ]
    created = Lead.objects.bulk_create(rows)
    for lead in created:
      lead.created_at = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
    Lead.objects.bulk_update(created, ["created_at"])
  print(f"leads: {total:,}", file=sys.stderr)


_COLUMNS = (
  "chat_id, customer_id, role, text, kind, addressed, is_fallback, model_name, prompt_tokens, "
  "completion_tokens, latency_ms, cost, created_at"
)


def _messages(
  db: str, rng, now: datetime, customers: list[int], chats: list[int], total: int
) -> None:
  """`total` messages over the year, oldest first; the last chat gets 5,000 of them."""
  from django.db import connection, transaction

  if db == "sqlite":
    with connection.cursor() as cursor:  # a throw-away file: skip fsyncs
      cursor.execute("PRAGMA synchronous=OFF")
  long_chat, step = chats[-1], timedelta(days=365) / total
  start = now - timedelta(days=365)
  batch = []
  for n in range(total):
    index = rng.randrange(len(customers))
    chat = long_chat if n % (total // 2500) in (0, 1) else chats[index]  # 5,000 in one chat
    assistant = n % 2 == 1
    fallback = assistant and rng.random() < 0.02
    batch.append(
      (
        chat,
        customers[index],
        "assistant" if assistant else "user",
        f"{'Answer' if assistant else 'Question'} number {n} about prices and delivery",
        "text",
        True,
        fallback,
        "" if fallback or not assistant else rng.choice(MODELS),
        rng.randint(300, 3000) if assistant and not fallback else None,
        rng.randint(20, 300) if assistant and not fallback else None,
        int(rng.lognormvariate(7, 0.5)) if assistant and not fallback else None,
        Decimal("0.000400") if assistant and not fallback else None,
        start + step * n,
      )
    )
    if len(batch) == BATCH:
      with transaction.atomic():
        _write(db, connection, batch)
      batch = []
      print(f"\rmessages: {n + 1:,}", end="", file=sys.stderr)
  if batch:
    with transaction.atomic():
      _write(db, connection, batch)
  print(file=sys.stderr)


def _write(db: str, connection, rows: list[tuple]) -> None:
  with connection.cursor() as cursor:
    if db == "postgres":
      with cursor.cursor.copy(f"COPY memory_message ({_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
          copy.write_row(row)
    else:
      marks = ", ".join(["%s"] * 13)
      cursor.executemany(
        f"INSERT INTO memory_message ({_COLUMNS}) VALUES ({marks})",
        [
          (
            *row[:-2],
            str(row[-2]) if row[-2] is not None else None,
            row[-1].replace(tzinfo=None).isoformat(sep=" "),
          )
          for row in rows
        ],
      )


def _feedback(rng: random.Random, now: datetime) -> None:
  from leads.models import Feedback
  from memory.models import Message

  answers = list(
    Message.objects.filter(role="assistant")
    .order_by("?")
    .values_list("pk", "customer_id", "created_at")[:20_000]
  )
  rows = [
    Feedback(customer_id=customer, message_id=pk, rating=rng.choice([1, 1, 1, -1]))
    for pk, customer, _at in answers
  ]
  created = Feedback.objects.bulk_create(rows, batch_size=5000)
  for feedback, (_pk, _customer, at) in zip(created, answers, strict=True):
    feedback.created_at = at + timedelta(minutes=1)
  Feedback.objects.bulk_update(created, ["created_at"], batch_size=5000)


def _analyze(db: str) -> None:
  from django.db import connection

  with connection.cursor() as cursor:
    cursor.execute("VACUUM ANALYZE" if db == "postgres" else "ANALYZE")


# --- measurements --------------------------------------------------------------------------------
def _timed(func, runs: int) -> float:
  func()  # warm-up: caches, connections, compiled templates
  times = []
  for _ in range(runs):
    started = time.perf_counter()
    func()
    times.append(time.perf_counter() - started)
  return statistics.median(times) * 1000


def _measure(*, runs: int) -> list[tuple[str, float, float]]:
  from django.contrib.auth.models import User
  from django.test import Client

  from memory.models import Chat, Message

  client = Client(SERVER_NAME="localhost")
  client.cookies["django_language"] = "en"
  client.force_login(User.objects.get(username="bench"))
  chat = Chat.objects.get(external_id=LONG_CHAT)
  middle = Message.objects.filter(chat=chat).order_by("id").values_list("pk", flat=True)[2500]

  def get(url: str, **params):
    def call():
      response = client.get(url, params)
      assert response.status_code == 200, (url, response.status_code)

    return call

  results = [
    ("lead list", _timed(get("/admin/leads/lead/"), runs), 300),
    ("lead list, stage filter", _timed(get("/admin/leads/lead/", stage__exact="won"), runs), 300),
    ("lead list, search", _timed(get("/admin/leads/lead/", q="Name123"), runs), 300),
    ("lead list, sorted by name", _timed(get("/admin/leads/lead/", o="3"), runs), 300),
    ("lead list, sorted by created", _timed(get("/admin/leads/lead/", o="-10"), runs), None),
    ("message list (1M)", _timed(get("/admin/memory/message/"), runs), 300),
    ("message list, search", _timed(get("/admin/memory/message/", q="number 4242"), runs), None),
    (
      "transcript, newest page",
      _timed(get(f"/admin/memory/chat/{chat.pk}/transcript/"), runs),
      300,
    ),
    (
      "transcript, middle page",
      _timed(get(f"/admin/memory/chat/{chat.pk}/transcript/", before=middle), runs),
      300,
    ),
    (
      "transcript, search",
      _timed(get(f"/admin/memory/chat/{chat.pk}/transcript/", q="number 99"), runs),
      300,
    ),
    ("analytics, 30 days", _timed(get("/admin/analytics/"), runs), 1000),
    ("analytics, 365 days", _timed(get("/admin/analytics/", days="365"), max(1, runs // 2)), None),
  ]
  results.append(("XLSX export, 100,000 leads", _xlsx_seconds() * 1000, 30_000))
  return results


def _xlsx_seconds() -> float:
  import tempfile

  from django.conf import settings

  from assistant.admin_exports import export_list, export_wait, export_xlsx_start
  from leads.models import Lead
  from leads.resources import LeadResource

  settings.EXPORT_DIR = Path(tempfile.mkdtemp())
  queryset = Lead.objects.select_related("customer", "service").order_by("-id")  # the list order
  started = time.perf_counter()
  job = export_xlsx_start(user_id=0, resource=LeadResource(), queryset=queryset, name="leads")
  export_wait(job_id=job.id, timeout=600)
  seconds = time.perf_counter() - started
  [done] = export_list(user_id=0)
  assert done.status == "done" and done.rows == queryset.count(), done
  return seconds


def _report(db: str, results: list[tuple[str, float, float | None]]) -> None:
  print(f"\n| {db} | median | target |\n|---|---:|---:|")
  for name, ms, target in results:
    verdict = "" if target is None else (" ✅" if ms <= target else " ❌")
    shown = f"{ms / 1000:.1f} s" if ms >= 10_000 else f"{ms:.0f} ms"
    goal = (
      "—" if target is None else (f"≤ {target // 1000} s" if target >= 1000 else f"≤ {target} ms")
    )
    print(f"| {name} | {shown}{verdict} | {goal} |")


if __name__ == "__main__":
  main()
