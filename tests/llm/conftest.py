"""Fixtures for the LLM tests: registry rows, a registry file, a registry URL server."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from llm.crypto import encrypt_api_key


def registry_row(name: str = "fake/one", **fields: Any) -> dict[str, Any]:
  """A valid registry row (file/URL format) with an encrypted key."""
  row = {
    "provider_model_name": name,
    "provider": "openai_compatible",
    "model": "fake-model",
    "base_url": "http://127.0.0.1:9/v1",
    "encrypted_api_key": encrypt_api_key("key-for-" + name),
    "active": True,
    "fallback_order": 10,
  }
  row.update(fields)
  return row


@pytest.fixture
def registry_file(tmp_path: Path, settings):
  """Returns write(rows) -> Path: writes llm_models.json and selects the file source."""
  path = tmp_path / "llm_models.json"
  settings.LLM_MODELS_FILE = path
  settings.LLM_MODELS_SOURCE = "file"

  def write(rows: list[dict[str, Any]] | str, *, bump: int = 0) -> Path:
    text = rows if isinstance(rows, str) else json.dumps({"models": rows})
    path.write_text(text, encoding="utf-8")
    if bump:  # a distinct mtime even within the filesystem's timestamp granularity
      stat = path.stat()
      os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))
    return path

  return write


class RegistryServer:
  """Serves a registry JSON at /models.json with an ETag; records request headers."""

  def __init__(self) -> None:
    self.body = b'{"models": []}'
    self.status = 200
    self.requests: list[dict[str, str]] = []
    server = self

    class Handler(BaseHTTPRequestHandler):
      def log_message(self, *args: Any) -> None:
        return

      def do_GET(self) -> None:  # noqa: N802
        server.requests.append({k.lower(): v for k, v in self.headers.items()})
        etag = f'"{hash(server.body)}"'
        if server.status != 200:
          self.send_response(server.status)
          self.end_headers()
          return
        if self.headers.get("If-None-Match") == etag:
          self.send_response(304)
          self.end_headers()
          return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(server.body)))
        self.end_headers()
        self.wfile.write(server.body)

    self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.thread = threading.Thread(
      target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    self.thread.start()
    self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/models.json?sig=secret"

  def serve(self, rows: list[dict[str, Any]]) -> None:
    self.body = json.dumps({"models": rows}).encode()

  def stop(self) -> None:
    self.httpd.shutdown()
    self.httpd.server_close()


@pytest.fixture
def registry_server(settings):
  """A registry URL server, selected as the source (reload interval 0: checked on every poll)."""
  server = RegistryServer()
  settings.LLM_MODELS_SOURCE = "url"
  settings.LLM_MODELS_URL = server.url
  settings.LLM_MODELS_RELOAD_SECONDS = 0
  yield server
  server.stop()


@pytest.fixture
def backup_llm():
  """A second fake OpenAI server for fallback tests."""
  from tests.fakes.openai_server import FakeOpenAIServer

  server = FakeOpenAIServer().start()
  yield server
  server.stop()


@pytest.fixture
def backup_model(db, backup_llm):
  """An active model "fake/backup" after llm_model in fallback order, on backup_llm."""
  from tests.factories import llm_model_factory

  return llm_model_factory(
    provider_model_name="fake/backup", base_url=backup_llm.base_url, fallback_order=2
  )
