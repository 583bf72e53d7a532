import pytest
from cryptography.fernet import Fernet

from llm.crypto import (
  decrypt_api_key,
  encrypt_api_key,
  key_fingerprint,
  master_keys,
  rotate_token,
  token_is_valid,
)
from llm.errors import LLMKeyError, MasterKeyMissing


def test_encrypt_then_decrypt_round_trip():
  token = encrypt_api_key("  provider-key-1  ")

  assert token.startswith("gAAAAA")
  assert "provider-key-1" not in token
  assert decrypt_api_key(token, model_name="m") == "provider-key-1"
  assert token_is_valid(token) is True


def test_first_key_encrypts_and_every_key_decrypts(settings):
  # given a token made with the old key
  old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
  settings.LLM_MODEL_DECRYPT_KEY = old
  token = encrypt_api_key("secret-1")

  # when a new key is put first
  settings.LLM_MODEL_DECRYPT_KEY = f"{new}, {old}"

  # then the old token still decrypts and new tokens use the new key
  assert master_keys() == [new, old]
  assert decrypt_api_key(token, model_name="m") == "secret-1"
  assert Fernet(new.encode()).decrypt(encrypt_api_key("secret-2").encode()) == b"secret-2"


def test_wrong_master_key_error_names_the_model(settings):
  token = encrypt_api_key("secret")
  settings.LLM_MODEL_DECRYPT_KEY = Fernet.generate_key().decode()

  with pytest.raises(LLMKeyError) as caught:
    decrypt_api_key(token, model_name="openai/gpt-4o-mini")

  assert "'openai/gpt-4o-mini'" in str(caught.value)
  assert caught.value.model_name == "openai/gpt-4o-mini"
  assert caught.value.permanent is True
  assert token_is_valid(token) is False


def test_damaged_token_is_an_error_naming_the_model():
  with pytest.raises(LLMKeyError, match="'m1'"):
    decrypt_api_key("gAAAAAnot-a-token", model_name="m1")


def test_missing_master_key(settings):
  token = encrypt_api_key("secret")
  settings.LLM_MODEL_DECRYPT_KEY = ""

  with pytest.raises(MasterKeyMissing, match="LLM_MODEL_DECRYPT_KEY is not set"):
    encrypt_api_key("secret")
  with pytest.raises(LLMKeyError, match="'m2' has an encrypted API key but"):
    decrypt_api_key(token, model_name="m2")
  with pytest.raises(MasterKeyMissing):
    rotate_token(token, model_name="m2")
  assert token_is_valid(token) is False


def test_empty_key_is_refused():
  with pytest.raises(ValueError, match="empty"):
    encrypt_api_key("   ")


def test_rotate_token_re_encrypts_with_the_first_key(settings):
  # given
  old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
  settings.LLM_MODEL_DECRYPT_KEY = old
  token = encrypt_api_key("secret-3")
  settings.LLM_MODEL_DECRYPT_KEY = f"{new},{old}"

  # when
  rotated = rotate_token(token, model_name="m")

  # then only the new key is needed
  settings.LLM_MODEL_DECRYPT_KEY = new
  assert decrypt_api_key(rotated, model_name="m") == "secret-3"
  with pytest.raises(LLMKeyError, match="can't be rotated"):
    rotate_token(token, model_name="m")


def test_key_fingerprint_changes_with_the_key_set(settings):
  before = key_fingerprint()
  settings.LLM_MODEL_DECRYPT_KEY = Fernet.generate_key().decode()

  assert key_fingerprint() != before
  assert len(before) == 12


def test_decrypted_key_is_registered_for_log_redaction():
  # given
  import logging

  from assistant.logging_redaction import RedactingFilter
  from llm.crypto import decrypt_api_key, encrypt_api_key

  plain = "local-provider-secret-0123456789abcdef"  # no sk- shape: only registration hides it
  token = encrypt_api_key(plain)

  # when
  decrypt_api_key(token, model_name="fake/default")
  record = logging.LogRecord("x", logging.INFO, __file__, 1, "calling with %s", (plain,), None)
  RedactingFilter().filter(record)

  # then
  assert plain not in record.getMessage()
