"""Encryption of provider API keys with the master key(s) in LLM_MODEL_DECRYPT_KEY (MultiFernet).

The first key encrypts, every key decrypts, so a new key can be put first and old tokens rotated
(`manage.py rotate_llm_keys`). Plaintext keys are only ever returned by `decrypt_api_key`, which
only `llm.client` calls.
"""

from __future__ import annotations

import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from assistant.logging_redaction import register_secret
from llm.errors import LLMKeyError, MasterKeyMissing

_MISSING = (
  "LLM_MODEL_DECRYPT_KEY is not set: run `make install` (it generates one into .env) or set "
  "comma-separated Fernet keys in the environment."
)


def master_keys() -> list[str]:
  """The configured Fernet keys, first one encrypts."""
  raw = settings.LLM_MODEL_DECRYPT_KEY or ""
  return [key.strip() for key in raw.split(",") if key.strip()]


@functools.lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
  return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet | None:
  keys = master_keys()
  return _multi_fernet(tuple(keys)) if keys else None


def key_fingerprint() -> str:
  """A short non-secret id of the master key set (clients are rebuilt when it changes)."""
  return hashlib.sha256(",".join(master_keys()).encode()).hexdigest()[:12]


def encrypt_api_key(plain: str) -> str:
  """Encrypt a provider API key with the first master key; returns the Fernet token."""
  fernet = _fernet()
  if fernet is None:
    raise MasterKeyMissing(_MISSING)
  plain = plain.strip()
  if not plain:
    raise ValueError("The API key is empty.")
  return fernet.encrypt(plain.encode()).decode()


def decrypt_api_key(token: str, *, model_name: str) -> str:
  """The plaintext key for `model_name`; a clear LLMKeyError naming the model when it can't be read."""
  fernet = _fernet()
  if fernet is None:
    raise LLMKeyError(
      f"Model {model_name!r} has an encrypted API key but LLM_MODEL_DECRYPT_KEY is not set.",
      model_name=model_name,
    )
  try:
    plain = fernet.decrypt(token.strip().encode()).decode()
  except (InvalidToken, ValueError, TypeError):
    raise LLMKeyError(
      f"The API key of model {model_name!r} can't be decrypted: LLM_MODEL_DECRYPT_KEY is not the "
      "key it was encrypted with, or the token is damaged. Re-encrypt it with "
      "`manage.py encrypt_api_key` or put the old key back (after a comma) and run "
      "`manage.py rotate_llm_keys`.",
      model_name=model_name,
    ) from None
  register_secret(plain)  # from now on no log sink can show it
  return plain


def token_is_valid(token: str) -> bool:
  """Whether `token` decrypts with the configured master key(s); nothing is returned or kept."""
  fernet = _fernet()
  if fernet is None or not token.strip():
    return False
  try:
    fernet.decrypt(token.strip().encode())
  except (InvalidToken, ValueError, TypeError):
    return False
  return True


def rotate_token(token: str, *, model_name: str) -> str:
  """Re-encrypt `token` with the first master key (no plaintext leaves cryptography)."""
  fernet = _fernet()
  if fernet is None:
    raise MasterKeyMissing(_MISSING)
  try:
    return fernet.rotate(token.strip().encode()).decode()
  except (InvalidToken, ValueError, TypeError):
    raise LLMKeyError(
      f"The API key of model {model_name!r} can't be rotated: none of the keys in "
      "LLM_MODEL_DECRYPT_KEY decrypts it.",
      model_name=model_name,
    ) from None
