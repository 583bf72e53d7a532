"""Send a tiny request to each model and show whether it answers (keys, URLs, model names)."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from llm.client import complete_once
from llm.errors import LLMError
from llm.registry import ModelSpec, source_sync, specs_load

PING = [{"role": "user", "content": "Reply with the single word: pong"}]


class Command(BaseCommand):
  help = (
    "Check that LLM models answer: one small request per active model (or the models named), "
    "without retries or fallback. Exits with an error if any model fails."
  )

  def add_arguments(self, parser: Any) -> None:
    parser.add_argument("names", nargs="*", help="provider_model_name(s); default: all active")

  def handle(self, *args: Any, **options: Any) -> None:
    source_sync()
    specs = list(specs_load())
    names = options["names"]
    if names:
      unknown = sorted(set(names) - {spec.provider_model_name for spec in specs})
      if unknown:
        raise CommandError(f"Unknown model(s): {', '.join(unknown)}")
      specs = [spec for spec in specs if spec.provider_model_name in names]
    else:
      specs = [spec for spec in specs if spec.active]
    if not specs:
      raise CommandError("No active LLM model to check (see docs/llm.md).")
    asyncio.run(self._ping_all(specs))

  async def _ping_all(self, specs: list[ModelSpec]) -> None:
    failed = 0
    for spec in specs:
      try:
        completion = await complete_once(spec, PING)
      except LLMError as error:
        kind = "permanent" if error.permanent else "transient"
        self.stdout.write(f"FAIL {spec.provider_model_name} ({kind}): {error}")
        failed += 1
        continue
      self.stdout.write(
        f"OK   {spec.provider_model_name}: {completion.latency_ms} ms, "
        f"{completion.prompt_tokens}+{completion.completion_tokens} tokens, "
        f"{completion.text[:40]!r}"
      )
    if failed:
      raise CommandError(f"{failed} of {len(specs)} model(s) failed.")
