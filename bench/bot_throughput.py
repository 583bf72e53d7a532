"""Telegram throughput: many customers writing at once to one `manage.py runbot` process.

    python -m bench.bot_throughput --db sqlite       # var/bench/bot.sqlite3, re-created
    python -m bench.bot_throughput --db postgres     # database bench_bot, re-created

The fake Bot API server (tests/fakes/telegram_server.py) and the fake OpenAI server
(tests/fakes/openai_server.py, every answer after --llm-delay seconds) run in this process;
runbot runs as a real subprocess (long polling, the shipped content loaded). Scenarios:
0. single customer: one question, nothing else running (the uncontended overhead);
1. burst: --customers returning customers (consent given) send one question each at once;
2. order: 100 customers send 3 questions each at once; each chat's questions must reach the
   LLM in order, each after the previous answer was stored;
3. one at a time: the burst with TELEGRAM_MAX_CONCURRENT_UPDATES=1 (20 customers, extrapolated);
4. Telegram's limit: the burst with the default outgoing limit of 30 messages/s.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import openai_server  # noqa: E402
from tests.fakes.openai_server import FakeOpenAIServer  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer  # noqa: E402


class _WideBacklogServer(openai_server.ThreadingHTTPServer):
  request_queue_size = 1024  # 300 connections at once; the stdlib default backlog is 5


openai_server.ThreadingHTTPServer = _WideBacklogServer  # the fake LLM takes the burst too

MASTER_KEY = Fernet.generate_key().decode()
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/bench_bot")
SQLITE_PATH = ROOT / "var" / "bench" / "bot.sqlite3"
FIRST_USER = 700_000


@dataclass
class Result:
  name: str
  customers: int
  seconds: float  # first message pushed -> last answer sent
  after_last: float  # last message pushed -> last answer sent
  p50: float
  p95: float
  overhead: float  # median end-to-end minus the LLM's own latency
  order_kept: bool | None = None
  cpu_per_reply: float = 0.0  # the bot process's CPU seconds per answer, push to last answer


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
  parser.add_argument("--customers", type=int, default=300)
  parser.add_argument("--llm-delay", type=float, default=1.0)
  parser.add_argument(
    "--only", help='Run only these scenarios (comma-separated names, e.g. "burst,single customer").'
  )
  parser.add_argument(
    "--profile",
    metavar="DIR",
    help="Record each scenario's bot with py-spy into DIR (GIL-holding stacks, raw format).",
  )
  args = parser.parse_args()
  env = _environment(args.db)
  _prepare_database(env, args.db)
  scenarios = [
    ("single customer", {"customers": 1}),
    ("burst", {"customers": args.customers}),
    ("order (3 messages each)", {"customers": 100, "messages": 3}),
    ("one at a time", {"customers": 20, "extra": {"TELEGRAM_MAX_CONCURRENT_UPDATES": "1"}}),
    (
      "burst, 30 msg/s limit",
      {"customers": args.customers, "extra": {"TELEGRAM_RATE_LIMIT_PER_SECOND": "30"}},
    ),
  ]
  results = [
    _run(name, env, delay=args.llm_delay, profile=args.profile, **kwargs)
    for name, kwargs in scenarios
    if not args.only or name in args.only.split(",")
  ]
  _print_table(args, results)


def _environment(db: str) -> dict[str, str]:
  url = PG_URL if db == "postgres" else f"sqlite:///{SQLITE_PATH}"
  return {
    **os.environ,
    "DATABASE_URL": url,
    "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-secret"),
    "LLM_MODEL_DECRYPT_KEY": MASTER_KEY,
    "LLM_MODELS_SOURCE": "db",
    "DEFAULT_LLM_MODEL": "bench/fake",
    "LLM_TIMEOUT": "30",
    "TELEGRAM_STREAMING": "false",
    "TELEGRAM_RATE_LIMIT_PER_SECOND": "0",
    "TELEGRAM_POLL_TIMEOUT": "1",
    "FLOOD_MAX_MESSAGES": "1000",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "assistant.settings",
  }


def _prepare_database(env: dict[str, str], db: str) -> None:
  """A fresh database with the schema and the shipped content."""
  if db == "postgres":
    import psycopg

    admin_url, name = PG_URL.rsplit("/", 1)
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
      conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
      conn.execute(f'CREATE DATABASE "{name}"')
  else:
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
      Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
  for command in (["migrate", "--noinput", "-v0"], ["load_content"]):
    subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


def _django(env: dict[str, str]) -> None:
  os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "LLM_MODEL_DECRYPT_KEY")})
  os.environ["DJANGO_SETTINGS_MODULE"] = "assistant.settings"
  import django

  django.setup()


def _seed(env: dict[str, str], llm_url: str, users: list[int]) -> None:
  """The fake model as the default, and returning customers who gave consent long ago."""
  _django(env)
  from django.utils import timezone

  from leads.models import Customer
  from llm.crypto import encrypt_api_key
  from llm.models import LLMModel

  LLMModel.objects.update_or_create(
    provider_model_name="bench/fake",
    defaults={
      "provider": "openai_compatible",
      "model": "fake-model",
      "base_url": llm_url,
      "encrypted_api_key": encrypt_api_key("sk-bench"),
      "active": True,
      "is_default": True,
    },
  )
  now = timezone.now()
  for user in users:
    Customer.objects.update_or_create(
      channel="telegram",
      external_id=str(user),
      defaults={"consent": Customer.Consent.GIVEN, "consent_at": now, "phone": "+79120000000"},
    )
  from django.db import connections

  connections.close_all()  # runbot is about to write; hold no lock


def _run(
  name: str,
  env: dict[str, str],
  *,
  customers: int,
  delay: float,
  messages: int = 1,
  extra: dict[str, str] | None = None,
  profile: str | None = None,
) -> Result:
  print(f"== {name}: {customers} customers x {messages}", file=sys.stderr, flush=True)
  users = [FIRST_USER + n for n in range(customers)]
  # Fresh update ids each run: the engine would rightly ignore the previous run's ids.
  first_id = int(time.time() * 1000) % 10**12
  llm, telegram = FakeOpenAIServer().start(), FakeTelegramServer(first_id=first_id).start()
  for _ in range(customers * messages):
    llm.enqueue(text="Here is the answer.", delay=delay)
  _seed(env, llm.base_url, users)
  run_env = {
    **env,
    **(extra or {}),
    "TELEGRAM_BOT_TOKEN": telegram.token,
    "TELEGRAM_API_BASE_URL": telegram.base_url,
  }
  bot = subprocess.Popen([sys.executable, "manage.py", "runbot"], cwd=ROOT, env=run_env)
  spy = None
  try:
    _wait(lambda: len(telegram.calls("getUpdates")) >= 1, 60)
    pushed: dict[int, list[float]] = {}
    for n in range(messages):
      for user in users:
        telegram.push_update(telegram.updates.text(f"user {user} question {n}", user_id=user))
        pushed.setdefault(user, []).append(time.monotonic())
    if profile:
      spy = _profile(bot.pid, Path(profile) / f"{name.split(',')[0].replace(' ', '_')}.txt")
    last_push = time.monotonic()
    cpu_before = _cpu_seconds(bot.pid)
    answers = _wait_answers(telegram, customers * messages, timeout=max(120, customers * delay * 2))
    cpu = _cpu_seconds(bot.pid) - cpu_before
  finally:
    if spy is not None:
      spy.send_signal(signal.SIGINT)  # py-spy writes its samples and exits
      spy.wait(60)
    bot.terminate()
    bot.wait(60)
    telegram.stop()
    llm.stop()
  result = _measure(name, users, pushed, last_push, answers, llm, delay, messages)
  result.cpu_per_reply = cpu / (customers * messages)
  return result


def _cpu_seconds(pid: int) -> float:
  """User + system CPU seconds of the process, all its threads together (Linux /proc)."""
  fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
  return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _profile(pid: int, out: Path) -> subprocess.Popen:
  """py-spy (pip install py-spy) sampling the bot's busy threads: collapsed stacks per thread."""
  out.parent.mkdir(parents=True, exist_ok=True)
  options = ["-f", "raw", "--threads", "--gil", "-r", "200", "-p", str(pid), "-o", str(out)]
  command = ["py-spy", "record", *options]
  return subprocess.Popen(command, stdout=subprocess.DEVNULL)


def _wait(condition, timeout: float) -> None:
  deadline = time.monotonic() + timeout
  while not condition():
    if time.monotonic() > deadline:
      raise SystemExit("timed out waiting for the bot")
    time.sleep(0.02)


def _wait_answers(telegram: FakeTelegramServer, count: int, timeout: float) -> list[dict]:
  """sendMessage calls that carry 👍/👎 (the LLM answers), once `count` of them arrived."""

  def answers() -> list[dict]:
    return [
      call
      for call in telegram.calls("sendMessage")
      if "fb:up" in str(call["params"].get("reply_markup"))
    ]

  try:
    _wait(lambda: len(answers()) >= count, timeout)
  except SystemExit:
    sent = telegram.calls("sendMessage")
    print(f"only {len(answers())} of {count} answers; {len(sent)} messages sent", file=sys.stderr)
    print("last texts:", [c["params"]["text"][:60] for c in sent[-3:]], file=sys.stderr)
    raise
  return answers()


def _measure(name, users, pushed, last_push, answers, llm, delay, messages) -> Result:
  by_chat: dict[int, list[float]] = {}
  for call in answers:
    by_chat.setdefault(int(call["params"]["chat_id"]), []).append(call["time"])
  latencies = [
    sent - asked
    for user in users
    for asked, sent in zip(pushed[user], sorted(by_chat[user]), strict=True)
  ]
  first_push = min(times[0] for times in pushed.values())
  done = max(call["time"] for call in answers)
  order = _order_kept(users, llm, messages) if messages > 1 else None
  return Result(
    name=name,
    customers=len(users),
    seconds=done - first_push,
    after_last=done - last_push,
    p50=statistics.median(latencies),
    p95=statistics.quantiles(latencies, n=20)[18] if len(latencies) > 1 else latencies[0],
    overhead=statistics.median(latencies) - delay,
    order_kept=order,
  )


def _order_kept(users: list[int], llm: FakeOpenAIServer, messages: int) -> bool:
  """Each chat's questions reached the LLM in order, each with the previous answer in history."""
  for user in users:
    asked = [
      r["json"]["messages"]
      for r in llm.chat_requests
      if r["json"]["messages"][-1]["content"].startswith(f"user {user} ")
    ]
    if [m[-1]["content"] for m in asked] != [f"user {user} question {n}" for n in range(messages)]:
      return False
    if asked[-1][-2]["content"] != "Here is the answer.":
      return False
  return True


def _print_table(args: argparse.Namespace, results: list[Result]) -> None:
  print(f"\n{args.db}, LLM answers after {args.llm_delay:.1f} s\n")
  print("| scenario | customers | replies/s | all answered | after the last message | p50 | p95 "
        "| bot overhead (p50 − LLM) | bot CPU per reply | per-chat order |")  # fmt: skip
  print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
  for r in results:
    replies = r.customers * (3 if r.order_kept is not None else 1)
    order = "—" if r.order_kept is None else ("kept" if r.order_kept else "BROKEN")
    # Waiting behind the chat's or the process's earlier messages is not overhead.
    alone = r.name.startswith(("burst", "single"))
    overhead = f"{r.overhead * 1000:.0f} ms" if alone else "—"
    print(
      f"| {r.name} | {r.customers} | {replies / r.seconds:.0f} | {r.seconds:.2f} s "
      f"| {r.after_last:.2f} s | {r.p50:.2f} s | {r.p95:.2f} s | {overhead} "
      f"| {r.cpu_per_reply * 1000:.1f} ms | {order} |"
    )


if __name__ == "__main__":
  main()
