"""The registry file (LLM_MODELS_FILE): reloaded when its modification time or size changes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from llm.errors import RegistryError
from llm.schema import registry_parse
from llm.sources.base import ModelSource


class FileSource(ModelSource):
  kind = "file"
  syncs = True

  def __init__(self) -> None:
    self.path: Path = settings.LLM_MODELS_FILE
    self._seen: tuple[int, int] | None = None
    self._lock = threading.Lock()

  def describe(self) -> str:
    return f"file {self.path}"

  def poll(self, *, force: bool = False) -> list[dict[str, Any]] | None:
    try:
      stat = self.path.stat()
    except OSError:
      raise RegistryError(
        self.describe(), ["file not found (copy llm_models.example.json)"]
      ) from None
    signature = (stat.st_mtime_ns, stat.st_size)
    with self._lock:
      if signature == self._seen and not force:
        return None
      # Remember even a bad version: it is reported once, not on every message.
      self._seen = signature
    try:
      data = self.path.read_bytes()
    except OSError as error:  # removed or unreadable since the stat
      raise RegistryError(self.describe(), [f"can't read it: {error.strerror}"]) from None
    return registry_parse(data, origin=self.describe())
