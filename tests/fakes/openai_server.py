"""A fake OpenAI-compatible HTTP server for tests: real sockets, real `openai` client, scripted answers.

    server = FakeOpenAIServer().start()
    server.enqueue(text="Hello!")                  # next chat completion answers "Hello!"
    server.enqueue(status=429)                     # ...the one after that is rate limited
    server.enqueue(delay=1.0)                      # ...then one that is slow (client timeout)
    server.enqueue(raw_body="{not json")           # ...then a malformed body
    ...
    server.requests[0]["json"]["messages"]         # what the client asked
    server.stop()

An empty queue answers "Fake answer.". Scripted answers apply to /v1/chat/completions only;
/v1/embeddings answers deterministic bag-of-words vectors (see `embed`), scripted with
`enqueue_embeddings`. Header names in `requests` are lower-cased.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_TEXT = "Fake answer."
FAKE_API_KEY = "fake-api-key-for-tests"  # what the llm_model fixture encrypts
EMBEDDING_DIM = 64

_ERROR_TYPES = {
  400: ("invalid_request_error", "bad_request"),
  401: ("invalid_request_error", "invalid_api_key"),
  403: ("invalid_request_error", "forbidden"),
  404: ("invalid_request_error", "model_not_found"),
  429: ("rate_limit_exceeded", "rate_limit_exceeded"),
}


@dataclass
class _Scripted:
  text: str = DEFAULT_TEXT
  status: int = 200
  delay: float = 0.0
  raw_body: str | None = None
  stream_chunks: list[str] | None = None
  prompt_tokens: int = 10
  completion_tokens: int = 5
  chunk_delay: float = 0.0
  disconnect: bool = False
  headers: dict[str, str] = field(default_factory=dict)


def embed(text: str, dim: int = EMBEDDING_DIM) -> list[float]:
  """A deterministic unit vector: hashed lower-cased words, so texts sharing words are similar."""
  vector = [0.0] * dim
  for word in re.findall(r"\w+", text.lower()):
    digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
    vector[int.from_bytes(digest, "big") % dim] += 1.0
  norm = math.sqrt(sum(v * v for v in vector))
  if norm == 0:
    vector[0], norm = 1.0, 1.0
  return [v / norm for v in vector]


class FakeOpenAIServer:
  """Real HTTP server on 127.0.0.1:<free port> in a background thread."""

  def __init__(self, *, embedding_dim: int = EMBEDDING_DIM) -> None:
    self.requests: list[dict[str, Any]] = []
    self.embedding_dim = embedding_dim
    self._queue: deque[_Scripted] = deque()
    self._embedding_queue: deque[_Scripted] = deque()
    self._lock = threading.Lock()
    self._stopping = threading.Event()
    self._httpd: ThreadingHTTPServer | None = None
    self._thread: threading.Thread | None = None

  # --- lifecycle -----------------------------------------------------------------------------
  def start(self) -> FakeOpenAIServer:
    handler = type("Handler", (_Handler,), {"fake": self})
    self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    self._httpd.daemon_threads = True
    self._thread = threading.Thread(
      target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    self._thread.start()
    return self

  def stop(self) -> None:
    self._stopping.set()  # wakes handlers sleeping on a scripted delay
    if self._httpd is not None:
      self._httpd.shutdown()
      self._httpd.server_close()
      self._httpd = None

  def __enter__(self) -> FakeOpenAIServer:
    return self.start()

  def __exit__(self, *exc_info: object) -> None:
    self.stop()

  @property
  def port(self) -> int:
    assert self._httpd is not None, "server not started"
    return self._httpd.server_address[1]

  @property
  def base_url(self) -> str:
    return f"http://127.0.0.1:{self.port}/v1"

  # --- scripting -----------------------------------------------------------------------------
  def enqueue(
    self,
    *,
    text: str = DEFAULT_TEXT,
    status: int = 200,
    delay: float = 0.0,
    raw_body: str | None = None,
    stream_chunks: list[str] | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    chunk_delay: float = 0.0,
    disconnect: bool = False,
    headers: dict[str, str] | None = None,
  ) -> None:
    """Script the next chat completion (FIFO).

    `delay` waits before answering; `chunk_delay` waits between streamed chunks; `raw_body` is sent
    verbatim (status as given); `disconnect` closes the socket without an answer.
    """
    with self._lock:
      self._queue.append(
        _Scripted(
          text=text,
          status=status,
          delay=delay,
          raw_body=raw_body,
          stream_chunks=stream_chunks,
          prompt_tokens=prompt_tokens,
          completion_tokens=completion_tokens,
          chunk_delay=chunk_delay,
          disconnect=disconnect,
          headers=dict(headers or {}),
        )
      )

  def enqueue_embeddings(
    self, *, status: int = 200, delay: float = 0.0, raw_body: str | None = None
  ) -> None:
    """Script the next /v1/embeddings answer (an error, a delay or a raw body)."""
    with self._lock:
      self._embedding_queue.append(_Scripted(status=status, delay=delay, raw_body=raw_body))

  def requests_to(self, path_suffix: str) -> list[dict[str, Any]]:
    """Recorded requests whose path ends with `path_suffix` (e.g. "/chat/completions")."""
    with self._lock:
      return [r for r in self.requests if r["path"].endswith(path_suffix)]

  @property
  def chat_requests(self) -> list[dict[str, Any]]:
    return self.requests_to("/chat/completions")

  def reset(self) -> None:
    with self._lock:
      self.requests.clear()
      self._queue.clear()
      self._embedding_queue.clear()

  # --- used by the handler -------------------------------------------------------------------
  def _record(self, entry: dict[str, Any]) -> None:
    with self._lock:
      self.requests.append(entry)

  def _next(self, queue: deque[_Scripted]) -> _Scripted:
    with self._lock:
      return queue.popleft() if queue else _Scripted()

  def _sleep(self, seconds: float) -> None:
    if seconds > 0:
      self._stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
  fake: FakeOpenAIServer
  protocol_version = "HTTP/1.0"  # one request per connection; streams end when the socket closes

  def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr noise
    return

  def do_GET(self) -> None:  # noqa: N802
    self._record(None)
    if self.path.rstrip("/").endswith("/models"):
      self._send_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
    else:
      self._send_error(404, f"Unknown path {self.path}")

  def do_POST(self) -> None:  # noqa: N802
    length = int(self.headers.get("Content-Length") or 0)
    raw = self.rfile.read(length) if length else b""
    try:
      body = json.loads(raw) if raw else None
    except ValueError:
      body = None
    self._record(body)
    try:
      if self.path.endswith("/chat/completions"):
        self._chat(body or {})
      elif self.path.endswith("/embeddings"):
        self._embeddings(body or {})
      else:
        self._send_error(404, f"Unknown path {self.path}")
    except (BrokenPipeError, ConnectionResetError):
      pass  # the client gave up (timeout): nothing to answer

  # --- endpoints -----------------------------------------------------------------------------
  def _chat(self, body: dict[str, Any]) -> None:
    scripted = self.fake._next(self.fake._queue)
    self.fake._sleep(scripted.delay)
    if self.fake._stopping.is_set():
      return
    if scripted.disconnect:
      self.close_connection = True
      self.connection.close()
      return
    streaming = bool(body.get("stream"))
    if scripted.raw_body is not None:
      content_type = "text/event-stream" if streaming else "application/json"
      self._send_raw(scripted.status, scripted.raw_body.encode(), content_type, scripted.headers)
    elif scripted.status != 200:
      self._send_error(scripted.status, f"Scripted error {scripted.status}", scripted.headers)
    elif streaming:
      self._chat_stream(body, scripted)
    else:
      self._send_json(200, _completion(body, scripted), scripted.headers)

  def _chat_stream(self, body: dict[str, Any], scripted: _Scripted) -> None:
    self.send_response(200)
    self.send_header("Content-Type", "text/event-stream")
    self.send_header("Cache-Control", "no-cache")
    for name, value in scripted.headers.items():
      self.send_header(name, value)
    self.end_headers()
    chunks = scripted.stream_chunks
    if chunks is None:
      chunks = re.findall(r"\S+\s*", scripted.text) or [scripted.text]
    model = body.get("model", "fake-model")
    for index, piece in enumerate(chunks):
      if index:
        self.fake._sleep(scripted.chunk_delay)
      delta = {"content": piece} if index else {"role": "assistant", "content": piece}
      self._sse(_chunk(model, [{"index": 0, "delta": delta, "finish_reason": None}]))
    self._sse(_chunk(model, [{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    if (body.get("stream_options") or {}).get("include_usage"):
      self._sse({**_chunk(model, []), "usage": _usage(scripted)})
    self.wfile.write(b"data: [DONE]\n\n")
    self.wfile.flush()

  def _embeddings(self, body: dict[str, Any]) -> None:
    scripted = self.fake._next(self.fake._embedding_queue)
    self.fake._sleep(scripted.delay)
    if scripted.raw_body is not None:
      self._send_raw(scripted.status, scripted.raw_body.encode(), "application/json", {})
      return
    if scripted.status != 200:
      self._send_error(scripted.status, f"Scripted error {scripted.status}")
      return
    inputs = body.get("input", "")
    texts = [inputs] if isinstance(inputs, str) else list(inputs)
    data = [
      {"object": "embedding", "index": i, "embedding": embed(str(t), self.fake.embedding_dim)}
      for i, t in enumerate(texts)
    ]
    tokens = sum(len(str(t).split()) for t in texts)
    self._send_json(
      200,
      {
        "object": "list",
        "data": data,
        "model": body.get("model", "fake-embedding"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
      },
    )

  # --- plumbing ------------------------------------------------------------------------------
  def _record(self, body: Any) -> None:
    headers = {name.lower(): value for name, value in self.headers.items()}
    self.fake._record({"method": self.command, "path": self.path, "headers": headers, "json": body})

  def _sse(self, payload: dict[str, Any]) -> None:
    self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
    self.wfile.flush()

  def _send_json(self, status: int, payload: dict[str, Any], headers: dict | None = None) -> None:
    self._send_raw(status, json.dumps(payload).encode(), "application/json", headers or {})

  def _send_error(self, status: int, message: str, headers: dict | None = None) -> None:
    kind, code = _ERROR_TYPES.get(status, ("server_error", "server_error"))
    error = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    self._send_json(status, error, headers)

  def _send_raw(self, status: int, data: bytes, content_type: str, headers: dict) -> None:
    self.send_response(status)
    self.send_header("Content-Type", content_type)
    self.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
      self.send_header(name, value)
    self.end_headers()
    self.wfile.write(data)
    self.wfile.flush()


def _usage(scripted: _Scripted) -> dict[str, int]:
  return {
    "prompt_tokens": scripted.prompt_tokens,
    "completion_tokens": scripted.completion_tokens,
    "total_tokens": scripted.prompt_tokens + scripted.completion_tokens,
  }


def _chunk(model: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
  return {
    "id": "chatcmpl-fake",
    "object": "chat.completion.chunk",
    "created": int(time.time()),
    "model": model,
    "choices": choices,
  }


def _completion(body: dict[str, Any], scripted: _Scripted) -> dict[str, Any]:
  text = "".join(scripted.stream_chunks) if scripted.stream_chunks else scripted.text
  return {
    "id": "chatcmpl-fake",
    "object": "chat.completion",
    "created": int(time.time()),
    "model": body.get("model", "fake-model"),
    "choices": [
      {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": "stop",
      }
    ],
    "usage": _usage(scripted),
  }
