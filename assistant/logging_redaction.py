"""Keeps secrets out of every log sink and masks personal data at INFO and above.

Secrets (bot token, LLM API keys, SECRET_KEY, master keys, Authorization headers, `sk-...` keys)
are replaced at every level, DEBUG included. Phone numbers and e-mails are masked in records at
INFO and above; DEBUG records keep them for troubleshooting on a developer's machine.
"""

import logging
import re
import threading
from functools import lru_cache

import phonenumbers

REDACTED = "[REDACTED]"
# Shorter values would mask ordinary words; real secrets are far longer.
MIN_SECRET_LENGTH = 8

_lock = threading.Lock()
_registered: set[str] = set()
_names_cache: tuple[object, list[str]] | None = None

_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
  # Authorization headers in any shape: "Authorization: Bearer x", (b'authorization', b'Basic x').
  (
    re.compile(
      r"(?i)(authorization(?>['\"]?\s*[:=,]\s*(?:b?['\"])?))"
      r"(?!(?:(?:bearer|basic|token|digest)\s+)?\[REDACTED\])"
      r"((?:(?:bearer|basic|token|digest)\s+)?)[^\s'\",;}\]]+"
    ),
    r"\1\2" + REDACTED,
  ),
  (re.compile(r"(?i)\b(bearer)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
  # Telegram bot tokens, also inside URLs such as /bot123456:AA.../getUpdates.
  (re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}"), REDACTED),
  # OpenAI-style keys (sk-..., sk-proj-...).
  (re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}"), "sk-" + REDACTED),
  # key=value / "key": "value" pairs whose name says they are secret.
  (
    re.compile(
      r"(?i)(?<![A-Za-z0-9])([A-Za-z0-9_-]*(?:api[_-]?key|token|secret|password|passwd))"
      r"(['\"]?\s*[:=]\s*['\"]?)(?!\[REDACTED\])[^\s'\"&,;}]+"
    ),
    r"\1\2" + REDACTED,
  ),
  # Passwords in URLs: scheme://user:password@host
  (
    re.compile(r"([a-z][a-z0-9+.-]*://[^\s:/@]+:)(?!\[REDACTED\])[^\s@/]+@"),
    r"\1" + REDACTED + "@",
  ),
]
# Settings whose values are secrets, whatever their shape.
_SECRET_SETTING = re.compile(r"(_KEY|TOKEN|SECRET|PASSWORD)$")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\b")
_PHONE_CANDIDATE = re.compile(r"\d[\d\s().-]{5,}\d")
_INTERNATIONAL_PHONE = re.compile(r"\+\d[\d\s().-]{8,}\d")


def register_secret(value: str | None) -> None:
  """Never let `value` reach a log sink (call it wherever a secret is decrypted or loaded)."""
  if value and len(value.strip()) >= MIN_SECRET_LENGTH:
    with _lock:
      _registered.add(value.strip())


def _secret_setting_names(settings) -> list[str]:
  """SECRET_KEY, TELEGRAM_BOT_TOKEN, LLM_MODEL_DECRYPT_KEY, *_TOKEN, *_SECRET, *_PASSWORD..."""
  global _names_cache
  wrapped = settings._wrapped  # replaced by override_settings: then the names are looked up again
  if _names_cache is None or _names_cache[0] is not wrapped:
    names = [name for name in dir(settings) if _SECRET_SETTING.search(name) and name.isupper()]
    _names_cache = (wrapped, names)
  return _names_cache[1]


def _settings_secrets() -> tuple[str, ...]:
  from django.conf import settings

  if not settings.configured:
    return ()
  values = [settings.DATABASES.get("default", {}).get("PASSWORD", "")]
  for name in _secret_setting_names(settings):
    value = getattr(settings, name, "")
    if isinstance(value, str):
      values.extend(value.split(","))  # LLM_MODEL_DECRYPT_KEY holds several keys
  return tuple(value.strip() for value in values if value and value.strip())


@lru_cache(maxsize=8)
def _literal_pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
  usable = sorted((s for s in secrets if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)
  return re.compile("|".join(re.escape(s) for s in usable)) if usable else None


def redact_secrets(text: str) -> str:
  """Remove every known secret and secret-shaped string from `text`."""
  with _lock:
    known = frozenset(_registered) | frozenset(_settings_secrets())
  pattern = _literal_pattern(known)
  if pattern is not None:
    text = pattern.sub(REDACTED, text)
  for regex, replacement in _SECRET_PATTERNS:
    text = regex.sub(replacement, text)
  return text


def _mask_phone(raw: str) -> str:
  digits = [index for index, char in enumerate(raw) if char.isdigit()]
  keep = set(digits[-2:])
  return "".join("*" if char.isdigit() and i not in keep else char for i, char in enumerate(raw))


def mask_personal_data(text: str, *, region: str = "RU") -> str:
  """Mask e-mail addresses and phone numbers, keeping just enough to tell them apart."""
  text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
  text = _INTERNATIONAL_PHONE.sub(lambda m: _mask_phone(m.group(0)), text)
  if not _PHONE_CANDIDATE.search(text):
    return text
  leniency = phonenumbers.Leniency.VALID
  for match in reversed(list(phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency))):
    text = text[: match.start] + _mask_phone(match.raw_string) + text[match.end :]
  return text


def redact(text: str, *, mask_pii: bool) -> str:
  text = redact_secrets(text)
  return mask_personal_data(text, region=_phone_region()) if mask_pii else text


def _phone_region() -> str:
  from django.conf import settings

  return getattr(settings, "DEFAULT_PHONE_REGION", "RU") if settings.configured else "RU"


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
  """Rewrite the record in place (once): message, exception text and stack."""
  if getattr(record, "_redacted", False):
    return record
  mask_pii = record.levelno >= logging.INFO
  try:
    message = record.getMessage()
  except Exception:  # wrong arguments for the format string: keep both, readable
    message = f"{record.msg!r} {record.args!r}"
  record.msg = redact(message, mask_pii=mask_pii)
  record.args = None
  if record.exc_info and not record.exc_text:
    record.exc_text = logging.Formatter().formatException(record.exc_info)
  if record.exc_text:
    record.exc_text = redact(record.exc_text, mask_pii=mask_pii)
  if record.stack_info:
    record.stack_info = redact(record.stack_info, mask_pii=mask_pii)
  record._redacted = True
  return record


class RedactingFilter(logging.Filter):
  """Attached to every handler: no record leaves the process with a secret in it."""

  def filter(self, record: logging.LogRecord) -> bool:
    redact_record(record)
    return True
