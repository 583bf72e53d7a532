"""Copy the model registry file or URL into the database and show what changed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from llm.errors import RegistryError
from llm.sources import source_get


class Command(BaseCommand):
  help = (
    "Sync LLM models from LLM_MODELS_FILE or LLM_MODELS_URL (per LLM_MODELS_SOURCE) into the "
    "database: prints the models created, updated and deactivated. The bot also does this by "
    "itself when the source changes."
  )

  def add_arguments(self, parser: Any) -> None:
    parser.add_argument(
      "--source",
      choices=["file", "url"],
      help="Sync from this source instead of the configured one.",
    )

  def handle(self, *args: Any, **options: Any) -> None:
    from llm.services import registry_sync

    source = source_get(options.get("source"))
    if not source.syncs:
      raise CommandError(
        "LLM_MODELS_SOURCE selects the database (or no file/URL is configured): nothing to sync. "
        "Use --source file|url, or set LLM_MODELS_FILE / LLM_MODELS_URL."
      )
    try:
      rows = source.poll(force=True)
    except RegistryError as error:
      raise CommandError(str(error)) from None
    result = registry_sync(rows=rows or [], source=source.kind)
    self.stdout.write(f"Synced {len(rows or [])} model(s) from {source.describe()}:")
    for key in ("created", "updated", "deactivated", "unchanged"):
      names = result[key]
      self.stdout.write(f"  {key}: {len(names)}" + (f" ({', '.join(names)})" if names else ""))
