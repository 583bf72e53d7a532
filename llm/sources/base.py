"""The source base class; the database source (admin-edited rows, nothing to sync) lives here."""

from __future__ import annotations

from typing import Any


class ModelSource:
  """A place model rows come from. File and URL sources are synced into the database."""

  kind = "db"
  syncs = False  # whether rows are copied into the database

  def describe(self) -> str:
    return "the database (edited in the admin)"

  def poll(self, *, force: bool = False) -> list[dict[str, Any]] | None:
    """Validated rows if they may have changed since the last poll (or `force`), else None.

    Raises RegistryError when the source is unreadable or has bad rows.
    """
    return None


class DatabaseSource(ModelSource):
  """Rows live only in the database (LLM_MODELS_SOURCE=db)."""
