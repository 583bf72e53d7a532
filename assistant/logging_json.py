"""One JSON object per line, for containers and log collectors (LOG_FORMAT=json)."""

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
  """Formats a (redacted) record as a single-line JSON object."""

  def format(self, record: logging.LogRecord) -> str:
    data = {
      "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
      "level": record.levelname,
      "logger": record.name,
      "message": record.getMessage(),
      "process": record.process,
      "thread": record.threadName,
    }
    if record.exc_info and not record.exc_text:
      record.exc_text = self.formatException(record.exc_info)
    if record.exc_text:
      data["exception"] = record.exc_text
    if record.stack_info:
      data["stack"] = record.stack_info
    return json.dumps(data, ensure_ascii=False)
