"""Where the model registry comes from: a JSON file, an HTTP(S) URL or the database alone.

`SOURCES` maps LLM_MODELS_SOURCE to a class, imported on first use; `source_get()` returns the
process's instance for the current settings (it keeps the change-detection state).
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.utils.module_loading import import_string

from llm.sources.base import ModelSource

SOURCES: dict[str, str] = {
  "file": "llm.sources.file.FileSource",
  "url": "llm.sources.url.URLSource",
  "db": "llm.sources.base.DatabaseSource",
}

_lock = threading.Lock()
_instances: dict[tuple, ModelSource] = {}


def source_kind() -> str:
  """The configured kind; "auto" is the URL if set, else the file if it exists, else the database."""
  kind = settings.LLM_MODELS_SOURCE
  if kind != "auto":
    return kind
  if settings.LLM_MODELS_URL:
    return "url"
  return "file" if settings.LLM_MODELS_FILE.is_file() else "db"


def source_get(kind: str | None = None) -> ModelSource:
  """The source for the current settings, or of `kind` (one instance per configuration)."""
  kind = kind or source_kind()
  config = (kind, str(settings.LLM_MODELS_FILE), settings.LLM_MODELS_URL)
  with _lock:
    if config not in _instances:
      _instances[config] = import_string(SOURCES[kind])()
    return _instances[config]


def sources_reset() -> None:
  """Forget change-detection state (tests, or after settings change)."""
  with _lock:
    _instances.clear()


__all__ = ["SOURCES", "ModelSource", "source_get", "source_kind", "sources_reset"]
