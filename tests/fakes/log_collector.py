"""A local HTTP server that records what log sinks send (HTTP JSON sink, Sentry envelopes).

    server = LogCollector().start()
    server.url("/logs")            # http://127.0.0.1:PORT/logs
    server.requests                # [{"path", "headers", "body"}], body decompressed and decoded
    server.status = 500            # answer every request with this status from now on
    server.stop()

It also answers the two calls the logging acceptance test makes through real client libraries:
Telegram's getMe (any /bot<token>/getMe path) and OpenAI's /v1/chat/completions.
"""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GET_ME = {
  "ok": True,
  "result": {"id": 4242, "is_bot": True, "first_name": "Assistant", "username": "test_bot"},
}
CHAT_COMPLETION = {
  "id": "chatcmpl-1",
  "object": "chat.completion",
  "created": 1700000000,
  "model": "fake-model",
  "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}
  ],
  "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def _decode(body: bytes, encoding: str) -> str:
  if encoding == "gzip":
    body = gzip.decompress(body)
  elif encoding == "deflate":
    body = zlib.decompress(body)
  return body.decode("utf-8", errors="replace")


class LogCollector:
  def __init__(self) -> None:
    self.requests: list[dict] = []
    self.status = 200
    self._lock = threading.Lock()
    collector = self

    class Handler(BaseHTTPRequestHandler):
      def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        body = _decode(self.rfile.read(length), self.headers.get("Content-Encoding", ""))
        with collector._lock:
          collector.requests.append(
            {
              "path": self.path,
              "headers": {k.lower(): v for k, v in self.headers.items()},
              "body": body,
            }
          )
        self._answer(collector._reply_for(self.path))

      def _answer(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(collector.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

      def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass

    self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

  def _reply_for(self, path: str) -> dict:
    if path.endswith("/getMe"):
      return GET_ME
    if path.endswith("/chat/completions"):
      return CHAT_COMPLETION
    return {"ok": True}

  def url(self, path: str = "") -> str:
    host, port = self._server.server_address[:2]
    return f"http://{host}:{port}{path}"

  def bodies(self, path_prefix: str) -> list[str]:
    with self._lock:
      return [r["body"] for r in self.requests if r["path"].startswith(path_prefix)]

  def start(self) -> LogCollector:
    self._thread.start()
    return self

  def stop(self) -> None:
    self._server.shutdown()
    self._server.server_close()
