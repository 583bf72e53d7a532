"""Full-text search index over messages (tsvector + GIN on PostgreSQL, FTS5 on SQLite).

The objects are created by memory.search_schema.install(), which only creates what is missing: a
later migration that adds objects calls it again. Django does not manage them, so no model state
changes here.
"""

from django.db import migrations


def install(apps, schema_editor) -> None:
  from memory import search_schema

  search_schema.install(schema_editor.connection, groups=("fulltext",))
  search_schema.index_existing(schema_editor.connection)


def uninstall(apps, schema_editor) -> None:
  from memory import search_schema

  search_schema.uninstall(schema_editor.connection, groups=("fulltext",))


class Migration(migrations.Migration):
  dependencies = [("memory", "0001_initial")]

  operations = [migrations.RunPython(install, uninstall)]
