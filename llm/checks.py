"""System checks (`manage.py check`, run in CI): registry file, encrypted keys, plaintext keys in git.

Database rows are checked when the command is given databases (`manage.py check --database
default`; `migrate` does it too); the bot's start (`registry_validate`) checks them every time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError

from llm.crypto import token_is_valid
from llm.errors import RegistryError
from llm.keyscan import scan_repository
from llm.schema import registry_parse

MAX_KEY_FINDINGS = 20


@register("llm")
def check_registry_file(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
  """The model file parses, every row is valid and every key decrypts with the master key(s)."""
  kind, path = settings.LLM_MODELS_SOURCE, settings.LLM_MODELS_FILE
  if kind == "url" and not settings.LLM_MODELS_URL:
    return [Error("LLM_MODELS_SOURCE=url but LLM_MODELS_URL is empty.", id="llm.E005")]
  if kind not in {"file", "auto"} or (kind == "auto" and settings.LLM_MODELS_URL):
    return []
  if not path.is_file():
    if kind == "auto":
      return []
    hint = "Copy llm_models.example.json to it, or set LLM_MODELS_FILE."
    return [Error(f"LLM_MODELS_FILE {path} does not exist.", hint=hint, id="llm.E001")]
  try:
    rows = registry_parse(path.read_bytes(), origin=f"file {path}")
  except RegistryError as error:
    return [Error(problem, obj=str(path), id="llm.E001") for problem in error.problems]
  messages = _key_errors(rows, origin=str(path))
  names = {row["provider_model_name"] for row in rows if row["active"]}
  wanted = settings.DEFAULT_LLM_MODEL
  if wanted and wanted not in names and not _db_allowed(kwargs):
    messages.append(
      Warning(
        f"DEFAULT_LLM_MODEL={wanted!r} is not an active model in {path}.",
        hint="Use a provider_model_name from the file (or a model added in the admin).",
        id="llm.W003",
      )
    )
  return messages


@register("llm", Tags.database)
def check_registry_database(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
  """Database rows: keys decrypt, DEFAULT_LLM_MODEL names an active model (needs --database)."""
  if not _db_allowed(kwargs):
    return []
  from llm.models import LLMModel

  try:
    rows = list(LLMModel.objects.values("provider_model_name", "encrypted_api_key", "active"))
  except DatabaseError:
    return []  # not migrated yet
  messages = _key_errors(rows, origin="database")
  wanted = settings.DEFAULT_LLM_MODEL
  names = {row["provider_model_name"] for row in rows if row["active"]}
  if wanted and wanted not in names and (rows or settings.LLM_MODELS_SOURCE == "db"):
    messages.append(
      Error(
        f"DEFAULT_LLM_MODEL={wanted!r} is not an active model; active: {sorted(names) or 'none'}.",
        hint="Set DEFAULT_LLM_MODEL to an active provider_model_name, or run sync_llm_models.",
        id="llm.E003",
      )
    )
  return messages


def _db_allowed(kwargs: dict[str, Any]) -> bool:
  return "default" in (kwargs.get("databases") or ())


def _key_errors(rows: Iterable[dict[str, Any]], *, origin: str) -> list[CheckMessage]:
  errors = []
  for row in rows:
    token = row["encrypted_api_key"]
    if token and not token_is_valid(token):
      name = row["provider_model_name"]
      errors.append(
        Error(
          f"The API key of model {name!r} ({origin}) is not a valid token for "
          "LLM_MODEL_DECRYPT_KEY.",
          hint="Re-encrypt it with `manage.py encrypt_api_key`, or add the old master key after "
          "a comma in LLM_MODEL_DECRYPT_KEY and run `manage.py rotate_llm_keys`.",
          obj=name,
          id="llm.E002",
        )
      )
  return errors


@register("llm", Tags.security)
def check_plaintext_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
  """No string in the repository looks like a provider API key."""
  findings = scan_repository(settings.BASE_DIR)
  hint = (
    "Revoke the key at the provider, remove it from the file (and git history), and store it "
    "encrypted: `manage.py encrypt_api_key`."
  )
  errors: list[CheckMessage] = [
    Error(str(finding), hint=hint, obj=finding.path, id="llm.E010")
    for finding in findings[:MAX_KEY_FINDINGS]
  ]
  if len(findings) > MAX_KEY_FINDINGS:
    more = len(findings) - MAX_KEY_FINDINGS
    errors.append(Error(f"...and {more} more key-like strings.", id="llm.E010"))
  return errors
