"""The registry at an HTTP(S) URL (LLM_MODELS_URL), polled every LLM_MODELS_RELOAD_SECONDS."""

from __future__ import annotations

import hashlib
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

from llm.errors import RegistryError
from llm.schema import registry_parse
from llm.sources.base import ModelSource

FETCH_TIMEOUT = 10  # seconds
MAX_BYTES = 2_000_000


class URLSource(ModelSource):
  kind = "url"
  syncs = True

  def __init__(self) -> None:
    self.url: str = settings.LLM_MODELS_URL
    self._polled_at: float | None = None
    self._etag = ""
    self._digest = ""
    self._lock = threading.Lock()

  def describe(self) -> str:
    return f"URL {self.url.split('?', 1)[0]}"  # the query may hold a signature: not shown

  def poll(self, *, force: bool = False) -> list[dict[str, Any]] | None:
    if not self.url:
      raise RegistryError("URL source", ["LLM_MODELS_URL is empty"])
    with self._lock:
      now = time.monotonic()
      due = self._polled_at is None or now - self._polled_at >= settings.LLM_MODELS_RELOAD_SECONDS
      if not (due or force):
        return None
      self._polled_at = now
      etag = "" if force else self._etag
    body, new_etag = self._fetch(etag)
    if body is None:
      return None  # 304 Not Modified
    digest = hashlib.sha256(body).hexdigest()
    with self._lock:
      unchanged = digest == self._digest
      self._etag, self._digest = new_etag, digest
    if unchanged and not force:
      return None
    return registry_parse(body, origin=self.describe())

  def _fetch(self, etag: str) -> tuple[bytes | None, str]:
    request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
    if etag:
      request.add_header("If-None-Match", etag)
    if settings.LLM_MODELS_URL_TOKEN:
      request.add_header("Authorization", f"Bearer {settings.LLM_MODELS_URL_TOKEN}")
    try:
      with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
        body = response.read(MAX_BYTES + 1)
        new_etag = response.headers.get("ETag", "")
    except urllib.error.HTTPError as error:
      if error.code == 304:
        return None, etag
      raise RegistryError(self.describe(), [f"HTTP {error.code} {error.reason}"]) from None
    except (urllib.error.URLError, OSError) as error:
      reason = getattr(error, "reason", error)
      raise RegistryError(self.describe(), [f"can't fetch it: {reason}"]) from None
    if len(body) > MAX_BYTES:
      raise RegistryError(self.describe(), [f"larger than {MAX_BYTES} bytes"])
    return body, new_etag
