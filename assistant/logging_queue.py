"""Base for log sinks that write from a background thread (database, HTTP).

The logging call only puts a plain dict on a bounded queue and returns: it never waits for the
sink, never touches the caller's database connection or transaction, and drops the record (and
counts it) when the queue is full. A worker thread writes batches. Records logged by any sink's
worker thread are ignored by every queued sink, so a sink can never feed itself.
"""

import logging
import os
import queue
import threading
import time
from datetime import UTC, datetime

from assistant.logging_redaction import redact_record

_STOP = object()
# Threads of every queued sink: their own records (e.g. SQL debug lines) are never queued.
_sink_threads: set[int] = set()


class _Flush:
  def __init__(self) -> None:
    self.done = threading.Event()


def record_to_dict(record: logging.LogRecord) -> dict:
  """A redacted, JSON-friendly snapshot of the record."""
  redact_record(record)
  return {
    "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
    "level": record.levelname,
    "level_no": record.levelno,
    "logger": record.name,
    "message": record.getMessage(),
    "module": record.module,
    "function": record.funcName or "",
    "line": record.lineno,
    "exception": record.exc_text or "",
    "process": record.process,
    "thread": record.threadName,
  }


class QueuedSinkHandler(logging.Handler):
  """Queues records for a worker thread that hands batches to `write_batch`."""

  thread_name = "log-sink"
  close_timeout = 5.0  # seconds close() waits for room in the queue, and again for the worker

  def __init__(
    self,
    *,
    level: int | str = logging.NOTSET,
    queue_size: int = 10_000,
    batch_size: int = 100,
    flush_interval: float = 0.5,
  ) -> None:
    super().__init__(level)
    self.queue_size, self.batch_size, self.flush_interval = queue_size, batch_size, flush_interval
    self.dropped = 0  # records refused because the queue was full
    self.failed = 0  # records lost because writing them failed
    self._start_lock = threading.Lock()
    self._pid: int | None = None
    self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
    self._thread: threading.Thread | None = None

  def write_batch(self, batch: list[dict]) -> None:
    raise NotImplementedError

  def emit(self, record: logging.LogRecord) -> None:
    if threading.get_ident() in _sink_threads:
      return
    try:
      item = record_to_dict(record)
    except Exception:  # a broken record must not break the caller
      self.failed += 1
      return
    self._ensure_worker()
    try:
      self._queue.put_nowait(item)
    except queue.Full:
      self.dropped += 1

  def _ensure_worker(self) -> None:
    if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
      return
    with self._start_lock:
      if self._pid != os.getpid():  # first use, or a forked child: the parent's thread is gone
        self._queue = queue.Queue(maxsize=self.queue_size)
        self._thread = None
        self._pid = os.getpid()
      if self._thread is None or not self._thread.is_alive():
        self._thread = threading.Thread(
          target=self._run, args=(self._queue,), name=self.thread_name, daemon=True
        )
        self._thread.start()

  def _run(self, items: queue.Queue) -> None:
    _sink_threads.add(threading.get_ident())
    try:
      while self._serve_one_batch(items):
        pass
    finally:
      _sink_threads.discard(threading.get_ident())

  def _serve_one_batch(self, items: queue.Queue) -> bool:
    """Collect up to batch_size records (or what arrives within flush_interval) and write them."""
    batch: list[dict] = []
    flushes: list[_Flush] = []
    keep_running = True
    deadline = None
    while len(batch) < self.batch_size:
      timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
      try:
        item = items.get(timeout=timeout)
      except queue.Empty:
        break
      if item is _STOP:
        keep_running = False
        break
      if isinstance(item, _Flush):
        flushes.append(item)
        break
      batch.append(item)
      deadline = deadline or time.monotonic() + self.flush_interval
    if batch:
      self._write_safely(batch)
    for flush in flushes:
      flush.done.set()
    return keep_running

  def _write_safely(self, batch: list[dict]) -> None:
    try:
      self.write_batch(batch)
    except Exception:  # never log from here: count the loss instead
      self.failed += len(batch)

  def flush(self, timeout: float = 5.0) -> bool:
    """Wait until everything queued so far is written; False if that took longer than timeout."""
    if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
      return True
    marker = _Flush()
    try:
      self._queue.put(marker, timeout=timeout)
    except queue.Full:
      return False
    return marker.done.wait(timeout)

  def close(self) -> None:
    """Write what is queued and stop the worker (logging.shutdown calls this at exit)."""
    thread = self._thread
    if self._pid == os.getpid() and thread is not None and thread.is_alive():
      try:
        self._queue.put(_STOP, timeout=self.close_timeout)
      except queue.Full:  # the sink is stuck: give up rather than hang the exit
        pass
      else:
        thread.join(timeout=self.close_timeout)
    self._thread = None
    super().close()
