"""`manage.py rebuild_memory_index`: rebuild the long-term memory search index, with progress."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from openai import OpenAIError

from llm.errors import LLMError
from memory import search_schema


class Command(BaseCommand):
  help = (
    "Rebuild the full-text index of stored messages (and repair its triggers). "
    "Safe while the bot runs: it works in batches, one transaction each."
  )

  def add_arguments(self, parser: CommandParser) -> None:
    parser.add_argument("--batch-size", type=int, default=5000, help="Messages per transaction.")
    parser.add_argument("--database", default="default", help="Database alias.")
    parser.add_argument(
      "--embeddings",
      action="store_true",
      help="Also compute missing embeddings (needs MEMORY_EMBEDDINGS_MODEL).",
    )

  def handle(self, *args, batch_size: int, database: str, embeddings: bool, **options) -> None:
    if batch_size < 1:
      self.stderr.write("--batch-size must be at least 1.")
      sys.exit(2)
    connection = connections[database]
    search_schema.install(connection)
    started = time.monotonic()
    done = search_schema.index_existing(connection, batch_size=batch_size, progress=self._progress)
    search_schema.optimize(connection)
    self.stderr.write("")  # end the progress line
    seconds = time.monotonic() - started
    self.stdout.write(f"Indexed {done} messages in {seconds:.1f} s.")
    if embeddings:
      self._embed(database)

  def _progress(self, done: int, total: int) -> None:
    percent = 100 * done / total if total else 100.0
    self.stderr.write(f"\rIndexing messages: {done}/{total} ({percent:.0f}%)", ending="")
    self.stderr.flush()

  def _embed(self, database: str) -> None:
    from memory.search_embeddings import embeddings_backfill, embeddings_enabled

    if not embeddings_enabled():
      raise CommandError("--embeddings needs MEMORY_EMBEDDINGS_MODEL (see docs/memory.md).")
    try:
      count = embeddings_backfill(using=database, progress=self._embed_progress)
    except (LookupError, LLMError, OpenAIError) as error:
      raise CommandError(f"Embedding failed: {error}") from error
    self.stderr.write("")
    self.stdout.write(f"Embedded {count} messages.")

  def _embed_progress(self, done: int, total: int) -> None:
    self.stderr.write(f"\rEmbedding messages: {done}/{total}", ending="")
    self.stderr.flush()
