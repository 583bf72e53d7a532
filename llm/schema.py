"""Validation of model registry rows (file, URL or database): one message per bad field, named by row.

A valid row comes back normalised as a dict of `LLMModel` field values, ready to sync.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from llm.errors import RegistryError
from llm.providers import PROVIDERS, provider_get

REQUIRED = ("provider_model_name", "provider", "model")
OPTIONAL = {
  "base_url": "",
  "encrypted_api_key": "",
  "params": {},
  "active": True,
  "customer_selectable": True,
  "fallback_order": 100,
  "context_window": None,
  "price_prompt_per_1k": Decimal("0"),
  "price_completion_per_1k": Decimal("0"),
}
FIELDS = (*REQUIRED, *OPTIONAL)
# Request parameters passed to chat.completions.create, with the JSON types they accept.
REQUEST_PARAMS: dict[str, tuple[type, ...]] = {
  "temperature": (int, float),
  "top_p": (int, float),
  "max_tokens": (int,),
  "max_completion_tokens": (int,),
  "presence_penalty": (int, float),
  "frequency_penalty": (int, float),
  "stop": (str, list),
  "seed": (int,),
  "reasoning_effort": (str,),
  "response_format": (dict,),
  "extra_body": (dict,),
}
# Parameters the client itself uses.
CLIENT_PARAMS: dict[str, tuple[type, ...]] = {
  "timeout": (int, float),
  "stream": (bool,),
  "headers": (dict,),
  "price_prompt_per_1k": (int, float, str),
  "price_completion_per_1k": (int, float, str),
}
PARAMS = {**REQUEST_PARAMS, **CLIENT_PARAMS}
# Shapes of real provider keys: one pasted into encrypted_api_key instead of a token is refused.
PLAINTEXT_KEY = re.compile(r"^(sk-|sk_|gsk_|xai-|pplx-|hf_|AIza|AQVN)")
FERNET_TOKEN = re.compile(r"^gAAAAA[A-Za-z0-9_\-]+=*$")


def registry_parse(text: str | bytes, *, origin: str) -> list[dict[str, Any]]:
  """Parse registry JSON text and validate it; RegistryError lists every problem."""
  try:
    data = json.loads(text)
  except ValueError as error:
    raise RegistryError(origin, [f"not valid JSON: {error}"]) from None
  return rows_validate(data, origin=origin)


def rows_validate(data: Any, *, origin: str) -> list[dict[str, Any]]:
  """Validate `{"models": [...]}`; RegistryError lists every bad row, field and duplicate."""
  if not isinstance(data, dict) or not isinstance(data.get("models"), list):
    raise RegistryError(origin, ['expected a JSON object {"models": [ ... ]}'])
  unknown = sorted(set(data) - {"models", "version", "comment"})
  problems = [f"unknown top-level key(s): {', '.join(unknown)}"] if unknown else []
  rows, seen = [], {}
  for index, raw in enumerate(data["models"]):
    row, row_problems = row_validate(raw, label=_label(index, raw))
    problems += row_problems
    if row is None:
      continue
    name = row["provider_model_name"]
    if name in seen:
      problems.append(
        f"{_label(index, raw)}: duplicate provider_model_name (already used by models[{seen[name]}])"
      )
      continue
    seen[name] = index
    rows.append(row)
  if problems:
    raise RegistryError(origin, problems)
  return rows


def row_validate(raw: Any, *, label: str) -> tuple[dict[str, Any] | None, list[str]]:
  """One row: (normalised row, []) or (None, problems naming `label`)."""
  if not isinstance(raw, dict):
    return None, [f"{label}: expected an object, got {type(raw).__name__}"]
  problems = [f"{label}: {p}" for p in _row_problems(raw)]
  if problems:
    return None, problems
  row = {field: raw.get(field, OPTIONAL.get(field)) for field in FIELDS}
  row["provider_model_name"] = row["provider_model_name"].strip()
  row["base_url"] = (row["base_url"] or provider_get(row["provider"]).default_base_url).rstrip("/")
  row["encrypted_api_key"] = (row["encrypted_api_key"] or "").strip()
  row["params"] = dict(row["params"] or {})
  for price in ("price_prompt_per_1k", "price_completion_per_1k"):
    row[price] = Decimal(str(row[price]))
  return row, []


def row_hash(row: dict[str, Any]) -> str:
  """A stable hash of a normalised row (detects which source rows changed)."""
  encoded = json.dumps(row, sort_keys=True, default=str).encode()
  return hashlib.sha256(encoded).hexdigest()


def _label(index: int, raw: Any) -> str:
  name = raw.get("provider_model_name") if isinstance(raw, dict) else None
  return f"models[{index}] {name!r}" if isinstance(name, str) and name else f"models[{index}]"


def _row_problems(raw: dict[str, Any]) -> list[str]:
  problems = []
  unknown = sorted(set(raw) - set(FIELDS) - {"comment"})
  if "default" in unknown or "is_default" in unknown:
    problems.append("the default model is set by DEFAULT_LLM_MODEL, not in the registry")
    unknown = [key for key in unknown if key not in {"default", "is_default"}]
  if unknown:
    problems.append(f"unknown field(s): {', '.join(unknown)}")
  for field in REQUIRED:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
      problems.append(f"{field} is required (a non-empty string)")
    elif len(value) > 200:
      problems.append(f"{field} is longer than 200 characters")
  provider = raw.get("provider")
  if isinstance(provider, str) and provider and provider not in PROVIDERS:
    problems.append(f"unknown provider {provider!r}; known: {', '.join(sorted(PROVIDERS))}")
  problems += _url_problems(raw)
  problems += _key_problems(raw)
  problems += _scalar_problems(raw)
  problems += params_problems(raw.get("params", {}))
  return problems


def _url_problems(raw: dict[str, Any]) -> list[str]:
  url = raw.get("base_url", "")
  provider = raw.get("provider")
  if url in ("", None):
    has_default = provider in PROVIDERS and provider_get(provider).default_base_url
    return [] if has_default else ["base_url is required for this provider"]
  if not isinstance(url, str) or not url_is_valid(url):
    return ["base_url must be an http:// or https:// URL with a host"]
  return []


def url_is_valid(url: str) -> bool:
  """http(s) with a host; hostnames without a dot (docker service names, localhost) are fine."""
  if len(url) > 500:
    return False
  try:
    parts = urlsplit(url)
    parts.port  # noqa: B018 - raises ValueError on a bad port
  except ValueError:
    return False
  return parts.scheme in {"http", "https"} and bool(parts.hostname)


def _key_problems(raw: dict[str, Any]) -> list[str]:
  token = raw.get("encrypted_api_key", "")
  provider = raw.get("provider")
  if token in ("", None):
    needs_key = provider in PROVIDERS and provider_get(provider).requires_key
    return [f"encrypted_api_key is required for provider {provider!r}"] if needs_key else []
  return token_problems(token)


def token_problems(token: Any) -> list[str]:
  """Shape problems of an encrypted_api_key value (decryptability is checked separately)."""
  if not isinstance(token, str):
    return ["encrypted_api_key must be a string"]
  token = token.strip()
  if PLAINTEXT_KEY.match(token):
    return [
      "encrypted_api_key holds a plaintext API key: encrypt it with `manage.py encrypt_api_key` "
      "and revoke the exposed key"
    ]
  if not FERNET_TOKEN.match(token):
    return ["encrypted_api_key is not a Fernet token (make one with `manage.py encrypt_api_key`)"]
  return []


def _scalar_problems(raw: dict[str, Any]) -> list[str]:
  problems = []
  for field in ("active", "customer_selectable"):
    if field in raw and not isinstance(raw[field], bool):
      problems.append(f"{field} must be true or false")
  order = raw.get("fallback_order", 0)
  if isinstance(order, bool) or not isinstance(order, int) or order < 0:
    problems.append("fallback_order must be a whole number >= 0")
  window = raw.get("context_window")
  if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
    problems.append("context_window must be a whole number >= 1 or null")
  for field in ("price_prompt_per_1k", "price_completion_per_1k"):
    if field in raw and not _is_price(raw[field]):
      problems.append(f"{field} must be a number >= 0")
  return problems


def params_problems(params: Any) -> list[str]:
  """Problems of a row's `params` object (also used by the admin form)."""
  if not isinstance(params, dict):
    return ["params must be an object"]
  problems = []
  for key, value in params.items():
    types = PARAMS.get(key)
    if types is None:
      problems.append(f"params.{key} is not a known parameter; known: {', '.join(sorted(PARAMS))}")
    elif isinstance(value, bool) and bool not in types or not isinstance(value, types):
      problems.append(f"params.{key} has the wrong type ({type(value).__name__})")
    elif key == "timeout" and value <= 0:
      problems.append("params.timeout must be > 0 seconds")
    elif key.startswith("price_") and not _is_price(value):
      problems.append(f"params.{key} must be a number >= 0")
  return problems


def _is_price(value: Any) -> bool:
  if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
    return False
  try:
    number = Decimal(str(value))
  except InvalidOperation:
    return False
  return number.is_finite() and number >= 0
