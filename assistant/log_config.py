"""Builds the LOGGING dict from settings (sinks are switched on by configuration) and applies it.

Sinks: console (always), rotating file (LOG_FILE), database (LOG_DB_LEVEL), Sentry (SENTRY_DSN),
HTTP JSON (LOG_HTTP_URL). Every handler carries the redaction filter. Django calls
`configure_logging` (settings.LOGGING_CONFIG) once per process during `django.setup()`; it also
starts Sentry and announces each optional sink once at INFO.
"""

import logging
import logging.config
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
FILE_WHEN = ["S", "M", "H", "D", "midnight", *(f"W{day}" for day in range(7))]
# Chatty third-party loggers (they also log request URLs, and Telegram URLs hold the bot token):
# WARNING unless LOG_LEVEL=DEBUG. The redaction filter still cleans them at DEBUG.
NOISY_LOGGERS = [
  "httpx",
  "httpcore",
  "aiohttp",
  "hpack",
  "telegram",
  "openai",
  "urllib3",
  "apscheduler",
  "axes",
]
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"

log = logging.getLogger("assistant.logging")


@dataclass(frozen=True)
class LogOptions:
  """Everything the LOG_* variables configure (see .env.example and docs/logging.md)."""

  level: str = "INFO"
  format: str = "text"
  file: str = ""
  file_rotation: str = "size"
  file_max_bytes: int = 10 * 1024 * 1024
  file_when: str = "midnight"
  file_backup_count: int = 14
  db_level: str = ""
  http_url: str = ""
  http_level: str = "WARNING"
  http_token: str = ""
  http_queue_size: int = 1000
  http_batch_size: int = 100


def log_file_path(file: str, base_dir: Path) -> Path:
  """LOG_FILE as an absolute path (relative paths start at the project root)."""
  path = Path(file).expanduser()
  return path if path.is_absolute() else base_dir / path


def _file_handler(options: LogOptions, base_dir: Path) -> dict:
  path = log_file_path(options.file, base_dir)
  path.parent.mkdir(parents=True, exist_ok=True)
  common = {"filename": str(path), "encoding": "utf-8", "delay": True}
  if options.file_rotation == "time":
    return {
      "class": "logging.handlers.TimedRotatingFileHandler",
      "when": options.file_when,
      "backupCount": options.file_backup_count,
      **common,
    }
  if options.file_rotation == "external":  # logrotate or similar moves the file; reopen it
    return {"class": "logging.handlers.WatchedFileHandler", **common}
  return {
    "class": "logging.handlers.RotatingFileHandler",
    "maxBytes": options.file_max_bytes,
    "backupCount": options.file_backup_count,
    **common,
  }


def _optional_handlers(options: LogOptions, base_dir: Path) -> dict:
  handlers = {}
  if options.file:
    handlers["file"] = {**_file_handler(options, base_dir), "level": options.level}
  if options.db_level:
    handlers["database"] = {"()": "assistant.logging_db.DatabaseHandler", "level": options.db_level}
  if options.http_url:
    handlers["http"] = {
      "()": "assistant.logging_http.HttpJsonHandler",
      "level": options.http_level,
      "url": options.http_url,
      "token": options.http_token,
      "queue_size": options.http_queue_size,
      "batch_size": options.http_batch_size,
    }
  return handlers


def build_logging_config(options: LogOptions, *, base_dir: Path) -> dict:
  """The dictConfig for these options."""
  formatter = "json" if options.format == "json" else "text"
  handlers = {
    "console": {"class": "logging.StreamHandler", "level": options.level},
    **_optional_handlers(options, base_dir),
  }
  for handler in handlers.values():
    handler["filters"] = ["redact"]
    handler["formatter"] = formatter
  root_level = min(logging.getLevelName(handler["level"]) for handler in handlers.values())
  noisy_level = "DEBUG" if options.level == "DEBUG" else "WARNING"
  return {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "assistant.logging_redaction.RedactingFilter"}},
    "formatters": {
      "text": {"format": TEXT_FORMAT},
      "json": {"()": "assistant.logging_json.JsonFormatter"},
    },
    "handlers": handlers,
    "loggers": {name: {"level": noisy_level} for name in NOISY_LOGGERS},
    "root": {"handlers": list(handlers), "level": logging.getLevelName(root_level)},
  }


def configure_logging(config: dict) -> None:
  """settings.LOGGING_CONFIG: apply LOGGING, start Sentry if configured, announce the sinks."""
  from django.conf import settings

  logging.config.dictConfig(config)
  if settings.SENTRY_DSN:
    from assistant.logging_sentry import sentry_init

    sentry_init(
      dsn=settings.SENTRY_DSN,
      environment=settings.SENTRY_ENVIRONMENT,
      traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
      release=settings.SENTRY_RELEASE,
    )
  for line in sink_descriptions(config):
    log.info("Log sink on: %s", line)


def sink_descriptions(config: dict) -> list[str]:
  """One human line per optional sink that is on."""
  from django.conf import settings

  handlers = config.get("handlers", {})
  lines = []
  if "file" in handlers:
    file = handlers["file"]
    lines.append(f"file {file['filename']} ({settings.LOG_FILE_ROTATION} rotation)")
  if "database" in handlers:
    lines.append(
      f"database at {handlers['database']['level']} and above"
      f" (prune_logs keeps {settings.LOG_DB_RETENTION_DAYS} days)"
    )
  if "http" in handlers:
    url = urlsplit(handlers["http"]["url"])
    lines.append(
      f"HTTP JSON to {url.scheme}://{url.hostname}{':' if url.port else ''}{url.port or ''}"
    )
  if settings.SENTRY_DSN:
    lines.append(f"Sentry (environment {settings.SENTRY_ENVIRONMENT})")
  return lines
