"""Generic HTTP JSON log sink: POSTs batches of records as a JSON array to `LOG_HTTP_URL`.

Works with any collector that accepts JSON over HTTP (Vector, Fluent Bit, Logstash, Loki behind a
transform, a serverless function...). Non-blocking: a bounded queue and a worker thread; when the
collector is slow or down, records are dropped and counted instead of slowing the bot.
"""

import json
import socket
import urllib.request

from assistant.logging_queue import QueuedSinkHandler

USER_AGENT = "telegram-consulting-assistant-logs/1"


class HttpJsonHandler(QueuedSinkHandler):
  """Sends log records in batches to an HTTP endpoint as JSON."""

  thread_name = "log-http-sender"

  def __init__(self, *, url: str, token: str = "", timeout: float = 5.0, **options) -> None:
    super().__init__(**options)
    self.url, self.token, self.timeout = url, token, timeout
    self.host = socket.gethostname()
    self.sent = 0

  def write_batch(self, batch: list[dict]) -> None:
    body = json.dumps([{**item, "host": self.host} for item in batch]).encode()
    request = urllib.request.Request(self.url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", USER_AGENT)
    if self.token:
      request.add_header("Authorization", f"Bearer {self.token}")
    # urllib logs nothing, so sending cannot produce records that come back to this sink.
    with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
      response.read()
    self.sent += len(batch)
