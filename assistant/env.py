"""Typed reading of environment variables with one-line errors that name the fix."""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Env:
  """Reads variables from the process environment; a `.env` file only fills the gaps."""

  def __init__(self, env_file: Path | None = None) -> None:
    if env_file is not None and env_file.is_file():
      # overwrite=False: real environment variables (containers, CI) win over .env values.
      environ.Env.read_env(str(env_file), overwrite=False)

  def raw(self, name: str) -> str | None:
    return os.environ.get(name)

  def str(self, name: str, default: str = "") -> str:
    value = self.raw(name)
    # An empty value means "not set": .env.example lists every variable, most of them empty.
    return value.strip() if value is not None and value.strip() else default

  def bool(self, name: str, default: bool) -> bool:
    value = self.raw(name)
    if value is None or not value.strip():
      return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
      return True
    if lowered in _FALSE:
      return False
    raise bad_value(name, value, "true or false")

  def int(self, name: str, default: int, *, minimum: int | None = None) -> int:
    value = self.raw(name)
    if value is None or value.strip() == "":
      return default
    try:
      number = int(value.strip())
    except ValueError:
      raise bad_value(name, value, "a whole number") from None
    if minimum is not None and number < minimum:
      raise bad_value(name, value, f"a whole number >= {minimum}")
    return number

  def float(
    self, name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
  ) -> float:
    value = self.raw(name)
    if value is None or value.strip() == "":
      return default
    try:
      number = float(value.strip())
    except ValueError:
      raise bad_value(name, value, "a number") from None
    if minimum is not None and number < minimum:
      raise bad_value(name, value, f"a number >= {minimum}")
    if maximum is not None and number > maximum:
      raise bad_value(name, value, f"a number <= {maximum}")
    return number

  def list(self, name: str, default: list[str]) -> list[str]:
    value = self.raw(name)
    if value is None or not value.strip():
      return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]

  def choice(self, name: str, default: str, choices: list[str]) -> str:
    """One of `choices`, matched case-insensitively and returned as spelled in `choices`.

    An empty `default` makes the variable optional: unset or empty returns "" (feature off).
    """
    value = self.str(name, default)
    if not value:
      return value
    by_lower = {choice.lower(): choice for choice in choices}
    if value.lower() not in by_lower:
      raise bad_value(name, value, "one of " + ", ".join(choices))
    return by_lower[value.lower()]

  def url(self, name: str, default: str = "") -> str:
    value = self.str(name, default)
    if value and not value.startswith(("http://", "https://")):
      raise bad_value(name, value, "an http:// or https:// URL")
    return value

  def database(self, name: str, default: str) -> dict:
    value = self.str(name, default) or default
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
      raise bad_value(
        name,
        _mask_url(value),
        "sqlite:///path/to/db.sqlite3 or postgres://user:pass@host:5432/name",
      )
    try:
      config = environ.Env.db_url_config(value)
    except Exception as error:  # django-environ raises several types on garbage
      raise bad_value(name, _mask_url(value), f"a valid database URL ({error})") from None
    if not config["NAME"]:
      raise bad_value(name, _mask_url(value), "a URL that names the database (or SQLite file)")
    return config


def bad_value(name: str, value: str, expected: str) -> ImproperlyConfigured:
  """One line naming the variable, what it holds and what is expected."""
  shown = value if len(value) <= 60 else value[:57] + "..."
  return ImproperlyConfigured(
    f"{name}={shown!r} is invalid: expected {expected}. Fix it in .env or the environment."
  )


def _mask_url(url: str) -> str:
  if "@" in url and "://" in url:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
  return url
