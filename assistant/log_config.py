"""Builds the LOGGING dict from environment variables (sinks are switched on by configuration)."""

from pathlib import Path

from assistant.env import Env


def build_logging_config(*, env: Env, base_dir: Path, level: str) -> dict:
  """Console sink for now; file, database, Sentry and HTTP sinks are added by configuration."""
  return {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
      "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
      "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": level},
  }
