"""System check: the full-text index objects exist (`manage.py check --database default`, migrate)."""

from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DatabaseError, connections
from django.db.migrations.recorder import MigrationRecorder

from memory import search_schema

# The latest migration that creates search objects: before it, missing ones are expected.
INSTALLING_MIGRATION = ("memory", "0004_messageembedding")


@register(Tags.database)
def search_index_check(app_configs=None, databases=None, **kwargs) -> list[CheckMessage]:
  """Warn when the index triggers are gone (an SQLite table rebuild by a later migration drops them)."""
  messages: list[CheckMessage] = []
  for alias in databases or []:
    connection = connections[alias]
    try:
      if INSTALLING_MIGRATION not in MigrationRecorder(connection).applied_migrations():
        continue  # not migrated yet: migrate will install them
      missing = search_schema.problems(connection)
    except DatabaseError:
      continue
    if missing:
      messages.append(
        Warning(
          f"The memory search index is incomplete on database '{alias}': missing "
          f"{', '.join(missing)}. New and edited messages are not indexed.",
          hint="Run `manage.py rebuild_memory_index`; it recreates them and reindexes.",
          id="memory.W001",
        )
      )
  return messages
