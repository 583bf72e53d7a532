import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from llm.crypto import decrypt_api_key
from llm.models import LLMModel
from tests.factories import llm_model_factory
from tests.llm.conftest import registry_row


def _run(*args, **options) -> str:
  out = io.StringIO()
  call_command(*args, stdout=out, **options)
  return out.getvalue()


# --- encrypt_api_key ---------------------------------------------------------------------------
def test_encrypt_api_key_reads_stdin():
  token = _run("encrypt_api_key", stdin=io.StringIO("provider-key-7\n")).strip()

  assert decrypt_api_key(token, model_name="m") == "provider-key-7"
  assert "provider-key-7" not in token


class _Tty(io.StringIO):
  def isatty(self) -> bool:
    return True


def test_encrypt_api_key_prompts_without_echo_on_a_terminal(monkeypatch):
  prompts = []
  monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "typed-key")

  token = _run("encrypt_api_key", stdin=_Tty()).strip()

  assert prompts == ["API key (input hidden): "]
  assert decrypt_api_key(token, model_name="m") == "typed-key"


def test_encrypt_api_key_never_takes_the_key_from_argv():
  with pytest.raises(CommandError, match="unrecognized arguments"):
    call_command("encrypt_api_key", "provider-key-on-the-command-line")


def test_encrypt_api_key_errors(settings):
  with pytest.raises(CommandError, match="No API key given"):
    _run("encrypt_api_key", stdin=io.StringIO("\n"))

  settings.LLM_MODEL_DECRYPT_KEY = ""
  with pytest.raises(CommandError, match="LLM_MODEL_DECRYPT_KEY is not set"):
    _run("encrypt_api_key", stdin=io.StringIO("k\n"))


# --- rotate_llm_keys ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_rotate_round_trip_for_file_and_database(settings, tmp_path):
  # given keys encrypted with the old master key in a file and in the database
  old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
  settings.LLM_MODEL_DECRYPT_KEY = old
  path = tmp_path / "llm_models.json"
  rows = [registry_row("f/1"), registry_row("f/local", provider="ollama", encrypted_api_key="")]
  path.write_text(json.dumps({"models": rows}))
  path.chmod(0o600)
  llm_model_factory(provider_model_name="db/1", api_key="db-key-1")
  llm_model_factory(provider_model_name="db/local", api_key="")
  settings.LLM_MODELS_FILE = path

  # when the new key is put first and the command runs
  settings.LLM_MODEL_DECRYPT_KEY = f"{new},{old}"
  output = _run("rotate_llm_keys")

  # then everything decrypts with the new key alone
  assert output.splitlines() == [
    "[1/1] file: f/1",
    f"Rotated 1 key(s) in {path}.",
    "[1/1] database: db/1",
    "Rotated 1 key(s) in the database.",
    "Done. You can now remove the old key(s) from LLM_MODEL_DECRYPT_KEY.",
  ]
  settings.LLM_MODEL_DECRYPT_KEY = new
  data = json.loads(path.read_text())
  assert decrypt_api_key(data["models"][0]["encrypted_api_key"], model_name="f/1") == "key-for-f/1"
  assert data["models"][1]["encrypted_api_key"] == ""
  db_row = LLMModel.objects.get(provider_model_name="db/1")
  assert decrypt_api_key(db_row.encrypted_api_key, model_name="db/1") == "db-key-1"
  assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.django_db
def test_rotate_with_an_unknown_token_changes_nothing(settings, tmp_path):
  path = tmp_path / "llm_models.json"
  foreign = Fernet(Fernet.generate_key()).encrypt(b"x").decode()
  original = json.dumps(
    {"models": [registry_row("f/1"), registry_row("f/2", encrypted_api_key=foreign)]}
  )
  path.write_text(original)
  settings.LLM_MODELS_FILE = path

  with pytest.raises(CommandError, match="'f/2' can't be rotated"):
    _run("rotate_llm_keys", "--skip-db")

  assert path.read_text() == original


@pytest.mark.django_db
def test_rotate_database_failure_rolls_back(settings):
  good = llm_model_factory(provider_model_name="a/good", fallback_order=1)
  llm_model_factory(provider_model_name="b/bad", encrypted_api_key="gAAAAAbroken", fallback_order=2)
  token = good.encrypted_api_key

  with pytest.raises(CommandError, match="'b/bad' can't be rotated.*Nothing was changed"):
    _run("rotate_llm_keys", "--skip-file")

  good.refresh_from_db()
  assert good.encrypted_api_key == token


@pytest.mark.django_db
def test_rotate_without_a_file_or_master_key(settings, tmp_path):
  settings.LLM_MODELS_FILE = tmp_path / "none.json"
  assert _run("rotate_llm_keys").splitlines() == [
    f"No registry file at {tmp_path / 'none.json'}: skipped.",
    "Rotated 0 key(s) in the database.",
  ]

  (tmp_path / "bad.json").write_text("[]")
  with pytest.raises(CommandError, match="is not a registry file"):
    _run("rotate_llm_keys", "--file", str(tmp_path / "bad.json"), "--skip-db")

  settings.LLM_MODEL_DECRYPT_KEY = ""
  with pytest.raises(CommandError, match="LLM_MODEL_DECRYPT_KEY is not set"):
    _run("rotate_llm_keys")


def test_rotate_file_write_failure_leaves_no_temp_file(settings, tmp_path, monkeypatch):
  path = tmp_path / "llm_models.json"
  path.write_text(json.dumps({"models": [registry_row("f/1")]}))

  def fail(*args):
    raise OSError("disk full")

  monkeypatch.setattr("os.replace", fail)
  with pytest.raises(OSError, match="disk full"):
    _run("rotate_llm_keys", "--file", str(path), "--skip-db")

  assert [p.name for p in tmp_path.iterdir()] == ["llm_models.json"]


# --- sync_llm_models ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_sync_llm_models_shows_what_changed(registry_file):
  path = registry_file([registry_row("s/a"), registry_row("s/b")])
  assert _run("sync_llm_models").splitlines() == [
    f"Synced 2 model(s) from file {path}:",
    "  created: 2 (s/a, s/b)",
    "  updated: 0",
    "  deactivated: 0",
    "  unchanged: 0",
  ]

  registry_file([registry_row("s/a", fallback_order=1)], bump=1)
  assert _run("sync_llm_models").splitlines()[1:] == [
    "  created: 0",
    "  updated: 1 (s/a)",
    "  deactivated: 1 (s/b)",
    "  unchanged: 0",
  ]


@pytest.mark.django_db
def test_sync_llm_models_from_url(registry_server, settings):
  registry_server.serve([registry_row("u/a")])
  settings.LLM_MODELS_SOURCE = "db"

  output = _run("sync_llm_models", "--source", "url")

  assert "  created: 1 (u/a)" in output.splitlines()
  assert LLMModel.objects.get().source == "url"


def test_sync_llm_models_errors(registry_file, settings):
  registry_file([{"provider": "x"}])
  with pytest.raises(CommandError, match="models\\[0\\]: provider_model_name is required"):
    _run("sync_llm_models")

  settings.LLM_MODELS_SOURCE = "db"
  with pytest.raises(CommandError, match="nothing to sync"):
    _run("sync_llm_models")


# --- ping_llm_models ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_ping_reports_each_active_model(llm_model, backup_model, fake_llm, backup_llm):
  # given the default answers and the backup has a bad key
  fake_llm.enqueue(text="pong", prompt_tokens=12, completion_tokens=1)
  backup_llm.enqueue(status=401)
  llm_model_factory(provider_model_name="off/x", active=False)

  # when
  with pytest.raises(CommandError, match="1 of 2 model\\(s\\) failed."):
    call_command("ping_llm_models", stdout=(out := io.StringIO()))

  # then
  lines = out.getvalue().splitlines()
  assert lines[0].startswith("OK   fake/default: ")
  assert lines[0].endswith(" ms, 12+1 tokens, 'pong'")
  assert lines[1].startswith("FAIL fake/backup (permanent): bad API key (HTTP 401)")
  assert len(fake_llm.chat_requests) == len(backup_llm.chat_requests) == 1
  assert fake_llm.chat_requests[0]["json"]["messages"][0]["content"].endswith("pong")


@pytest.mark.django_db
def test_ping_named_models(llm_model, fake_llm, settings):
  settings.LLM_TIMEOUT = 0.2
  llm_model_factory(provider_model_name="off/x", active=False, base_url=fake_llm.base_url)
  fake_llm.enqueue(delay=0.5)

  with pytest.raises(CommandError, match="1 of 1"):
    _run("ping_llm_models", "off/x")
  with pytest.raises(CommandError, match="Unknown model\\(s\\): nope"):
    _run("ping_llm_models", "nope", "off/x")
  assert _run("ping_llm_models", "fake/default").startswith("OK   fake/default")


@pytest.mark.django_db
def test_ping_without_models():
  with pytest.raises(CommandError, match="No active LLM model to check"):
    _run("ping_llm_models")
