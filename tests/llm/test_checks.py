import json

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.checks import Error, Warning
from django.db import DatabaseError

from llm.checks import check_plaintext_keys, check_registry_database, check_registry_file
from llm.keyscan import scan_repository
from tests.factories import llm_model_factory
from tests.llm.conftest import registry_row
from tests.llm.test_keyscan import KEYS


def _ids(messages) -> list[tuple[str, str]]:
  return [(m.id, m.msg) for m in messages]


def test_no_file_configured_is_fine(settings, tmp_path):
  settings.LLM_MODELS_FILE = tmp_path / "none.json"
  for kind in ["db", "auto"]:
    settings.LLM_MODELS_SOURCE = kind
    assert check_registry_file() == []
  settings.LLM_MODELS_SOURCE, settings.LLM_MODELS_URL = "auto", "https://example.com/m.json"
  assert check_registry_file() == []


def test_url_source_needs_a_url(settings):
  settings.LLM_MODELS_SOURCE = "url"

  assert _ids(check_registry_file()) == [
    ("llm.E005", "LLM_MODELS_SOURCE=url but LLM_MODELS_URL is empty.")
  ]


def test_missing_file_when_the_file_is_required(settings, tmp_path):
  settings.LLM_MODELS_SOURCE, settings.LLM_MODELS_FILE = "file", tmp_path / "x.json"

  assert _ids(check_registry_file()) == [
    ("llm.E001", f"LLM_MODELS_FILE {tmp_path / 'x.json'} does not exist.")
  ]


def test_bad_rows_are_errors_one_per_problem(registry_file):
  registry_file([registry_row("a"), registry_row("a"), registry_row("b", provider="zzz")])

  messages = check_registry_file()

  assert [m.id for m in messages] == ["llm.E001", "llm.E001"]
  assert (
    messages[0].msg == "models[1] 'a': duplicate provider_model_name (already used by models[0])"
  )
  assert messages[1].msg.startswith("models[2] 'b': unknown provider 'zzz'")


def test_invalid_token_in_the_file_names_the_model(registry_file):
  foreign = Fernet(Fernet.generate_key()).encrypt(b"k").decode()
  registry_file([registry_row("ok/1"), registry_row("bad/key", encrypted_api_key=foreign)])

  [error] = check_registry_file()

  assert isinstance(error, Error)
  assert error.id == "llm.E002"
  assert error.msg.startswith("The API key of model 'bad/key' (")
  assert error.obj == "bad/key"


def test_keyless_local_models_are_allowed(registry_file):
  registry_file([registry_row("ollama/x", provider="ollama", encrypted_api_key="")])

  assert check_registry_file() == []


def test_unknown_default_in_the_file_is_a_warning(registry_file, settings):
  path = registry_file([registry_row("a/1"), registry_row("a/2", active=False)])
  settings.DEFAULT_LLM_MODEL = "a/2"

  [warning] = check_registry_file()

  assert isinstance(warning, Warning)
  assert (warning.id, warning.msg) == (
    "llm.W003",
    f"DEFAULT_LLM_MODEL='a/2' is not an active model in {path}.",
  )
  settings.DEFAULT_LLM_MODEL = "a/1"
  assert check_registry_file() == []


def test_database_checks_need_databases(db):
  llm_model_factory(encrypted_api_key="gAAAAAbroken")

  assert check_registry_database() == []
  assert check_registry_database(databases=["other"]) == []


@pytest.mark.django_db
def test_database_rows_with_bad_tokens_and_unknown_default(settings):
  # given
  llm_model_factory(provider_model_name="db/good")
  llm_model_factory(provider_model_name="db/bad", encrypted_api_key="gAAAAAbroken")
  llm_model_factory(provider_model_name="db/local", api_key="")
  settings.DEFAULT_LLM_MODEL = "db/missing"

  # when
  messages = check_registry_database(databases=["default"])

  # then
  assert [(m.id, m.obj) for m in messages] == [("llm.E002", "db/bad"), ("llm.E003", None)]
  assert messages[1].msg == (
    "DEFAULT_LLM_MODEL='db/missing' is not an active model; active: "
    "['db/bad', 'db/good', 'db/local']."
  )


@pytest.mark.django_db
def test_database_check_with_an_empty_table(settings):
  settings.DEFAULT_LLM_MODEL = "x"
  settings.LLM_MODELS_SOURCE = "file"
  assert check_registry_database(databases=["default"]) == []  # the file sync may still add it

  settings.LLM_MODELS_SOURCE = "db"
  assert [m.id for m in check_registry_database(databases=["default"])] == ["llm.E003"]


def test_database_check_before_migrations(monkeypatch):
  def broken(*args, **kwargs):
    raise DatabaseError("no such table")

  monkeypatch.setattr("llm.models.LLMModel.objects.values", broken)

  assert check_registry_database(databases=["default"]) == []


def test_planted_key_is_caught(settings, tmp_path):
  # given a project directory with a key someone pasted into a file
  (tmp_path / "llm_models.json").write_text(
    json.dumps({"models": [{"encrypted_api_key": KEYS["OpenAI"]}]})
  )
  settings.BASE_DIR = tmp_path

  # when
  [error] = check_plaintext_keys()

  # then
  assert error.id == "llm.E010"
  assert error.msg.startswith("llm_models.json:1: looks like a plaintext OpenAI API key (sk-pro…")
  assert KEYS["OpenAI"] not in error.msg


def test_many_planted_keys_are_summarised(settings, tmp_path):
  (tmp_path / "keys.txt").write_text("\n".join([KEYS["Groq"]] * 25))
  settings.BASE_DIR = tmp_path

  errors = check_plaintext_keys()

  assert len(errors) == 21
  assert errors[-1].msg == "...and 5 more key-like strings."


def test_this_repository_has_no_plaintext_keys():
  assert [str(f) for f in scan_repository(django_settings.BASE_DIR)] == []
