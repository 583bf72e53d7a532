"""Settings: a bad value stops start-up with one clear line; env beats .env; the setup script."""

import os
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from assistant.env import Env, bad_value

ROOT = Path(settings.BASE_DIR)
sys.path.insert(0, str(ROOT / "scripts"))
from init_env import init_env  # noqa: E402


def manage(*args: str, **overrides: str) -> subprocess.CompletedProcess:
  environment = {**os.environ, **overrides}
  return subprocess.run(
    [sys.executable, "manage.py", *args],
    cwd=ROOT,
    env=environment,
    capture_output=True,
    text=True,
    timeout=120,
  )


@pytest.mark.parametrize(
  ("name", "value", "expected"),
  [
    ("DATABASE_URL", "mysql://app:hunter22@db/app", "expected sqlite:///"),
    ("DATABASE_URL", "postgres://app@db:notaport/app", "a valid database URL"),
    ("DATABASE_URL", "postgres://", "names the database"),
    ("LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("LLM_MODEL_DECRYPT_KEY", "not-a-fernet-key", "comma-separated Fernet keys"),
    ("LOG_FILE_BACKUP_COUNT", "abc", "a whole number"),
    ("DB_THREADS", "0", "a whole number >= 1"),
    ("DEBUG", "maybe", "true or false"),
    ("TIME_ZONE", "Mars/Olympus_Mons", "an IANA time zone"),
    ("SECRET_KEY", "", "SECRET_KEY is not set"),
    ("TELEGRAM_API_BASE_URL", "ftp://example.com", "an http:// or https:// URL"),
    ("SENTRY_TRACES_SAMPLE_RATE", "1.5", "a number <= 1.0"),
    ("LOG_FILE_ROTATION", "weekly", "one of size, time, external"),
    ("LOG_DB_LEVEL", "LOUD", "one of DEBUG"),
    ("LANGUAGE_CODE", "de", "one of ru, en"),
    ("DEFAULT_PHONE_REGION", "XX", "a two-letter region"),
    ("TELEGRAM_WEBHOOK_SECRET", "not allowed!", "1-256 characters"),
  ],
)
def test_bad_value_stops_startup_with_one_line_naming_the_variable(name, value, expected):
  # when
  run = manage("check", **{name: value})

  # then
  assert run.returncode != 0
  lines = run.stderr.strip().splitlines()
  assert len(lines) == 1, run.stderr
  assert lines[0].startswith(f"Configuration error: {name}")
  assert expected in lines[0]
  assert "hunter22" not in lines[0]  # database passwords are masked
  if name == "LLM_MODEL_DECRYPT_KEY":
    assert value not in lines[0]  # key material is never echoed


def test_a_rule_across_two_variables_names_the_one_to_fix():
  run = manage("check", CATALOG_SOURCE="url", CATALOG_URL="")

  assert run.returncode != 0
  assert run.stderr.strip().splitlines() == [
    "Configuration error: CATALOG_URL='' is invalid: expected an http(s) URL returning JSON,"
    " since CATALOG_SOURCE=url. Fix it in .env or the environment."
  ]


def test_good_configuration_passes_the_checks():
  run = manage("check", LOG_LEVEL="warning", DEBUG="off", LOG_DB_LEVEL="", TEST_DATABASE_NAME="")

  assert run.returncode == 0, run.stderr
  assert "System check identified no issues" in run.stdout


def test_deploy_checks_are_clean_with_production_values():
  # given what docs/deployment recommends behind an HTTPS proxy
  production = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "assistant.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "BEHIND_PROXY": "true",
    "SECURE_COOKIES": "",
  }

  # when
  run = manage("check", "--deploy", "--fail-level", "WARNING", **production)

  # then
  assert run.returncode == 0, run.stdout + run.stderr
  assert "System check identified no issues (0 silenced)." in run.stdout


def test_deploy_checks_do_warn_without_hsts():
  run = manage(
    "check", "--deploy", "--fail-level", "WARNING", DEBUG="false", SECURE_HSTS_SECONDS="0"
  )

  assert run.returncode != 0
  assert "security.W004" in run.stderr


def test_production_defaults(settings):
  # DEBUG is off in the test settings, so the production defaults are the ones in force
  assert settings.DEBUG is False
  assert settings.SESSION_COOKIE_SECURE is True
  assert settings.CSRF_COOKIE_SECURE is True
  assert settings.X_FRAME_OPTIONS == "DENY"
  assert settings.LOGGING_CONFIG == "assistant.log_config.configure_logging"


# --- assistant.env.Env --------------------------------------------------------------------------


@pytest.fixture
def env_file(tmp_path, monkeypatch):
  """A .env file; variables it introduces are removed from os.environ after the test."""
  path = tmp_path / ".env"
  path.write_text("OPS_T_FROM_FILE=file-value\nOPS_T_BOTH=file-value\n", encoding="utf-8")
  monkeypatch.delenv("OPS_T_FROM_FILE", raising=False)
  monkeypatch.setenv("OPS_T_BOTH", "environment-value")
  return path


def test_real_environment_variables_override_the_env_file(env_file):
  env = Env(env_file)

  assert env.str("OPS_T_BOTH") == "environment-value"
  assert env.str("OPS_T_FROM_FILE") == "file-value"


def test_missing_env_file_and_no_file_are_fine(tmp_path, monkeypatch):
  monkeypatch.setenv("OPS_T_X", " spaced ")

  assert Env(tmp_path / "absent.env").str("OPS_T_X") == "spaced"
  assert Env(None).raw("OPS_T_X") == " spaced "


@pytest.fixture
def env(monkeypatch):
  for name in [n for n in os.environ if n.startswith("OPS_T_")]:
    monkeypatch.delenv(name)
  return Env()


def test_str_treats_empty_as_unset(env, monkeypatch):
  monkeypatch.setenv("OPS_T_EMPTY", "   ")

  assert env.str("OPS_T_EMPTY", "default") == "default"
  assert env.str("OPS_T_UNSET") == ""


@pytest.mark.parametrize(
  ("value", "expected"),
  [("1", True), ("YES", True), (" on ", True), ("false", False), ("0", False)],
)
def test_bool_values(env, monkeypatch, value, expected):
  monkeypatch.setenv("OPS_T_BOOL", value)

  assert env.bool("OPS_T_BOOL", not expected) is expected


def test_bool_default_and_error(env, monkeypatch):
  assert env.bool("OPS_T_BOOL", True) is True
  monkeypatch.setenv("OPS_T_BOOL", "perhaps")

  with pytest.raises(ImproperlyConfigured, match="OPS_T_BOOL='perhaps' is invalid: expected true"):
    env.bool("OPS_T_BOOL", True)


def test_int_values_and_errors(env, monkeypatch):
  assert env.int("OPS_T_INT", 7) == 7
  monkeypatch.setenv("OPS_T_INT", " 42 ")
  assert env.int("OPS_T_INT", 7, minimum=42) == 42
  with pytest.raises(ImproperlyConfigured, match="expected a whole number >= 43"):
    env.int("OPS_T_INT", 7, minimum=43)
  monkeypatch.setenv("OPS_T_INT", "4.5")
  with pytest.raises(ImproperlyConfigured, match="expected a whole number\\."):
    env.int("OPS_T_INT", 7)


def test_float_values_and_errors(env, monkeypatch):
  assert env.float("OPS_T_FLOAT", 0.5) == 0.5
  monkeypatch.setenv("OPS_T_FLOAT", "0.25")
  assert env.float("OPS_T_FLOAT", 0.5, minimum=0.0, maximum=1.0) == 0.25
  with pytest.raises(ImproperlyConfigured, match="expected a number >= 0.3"):
    env.float("OPS_T_FLOAT", 0.5, minimum=0.3)
  with pytest.raises(ImproperlyConfigured, match="expected a number <= 0.2"):
    env.float("OPS_T_FLOAT", 0.5, maximum=0.2)
  monkeypatch.setenv("OPS_T_FLOAT", "half")
  with pytest.raises(ImproperlyConfigured, match="expected a number\\."):
    env.float("OPS_T_FLOAT", 0.5)


def test_list_values(env, monkeypatch):
  assert env.list("OPS_T_LIST", ["a"]) == ["a"]
  monkeypatch.setenv("OPS_T_LIST", " x, ,y ,")

  assert env.list("OPS_T_LIST", ["a"]) == ["x", "y"]


def test_choice_values(env, monkeypatch):
  assert env.choice("OPS_T_CHOICE", "b", ["A", "b"]) == "b"
  assert env.choice("OPS_T_CHOICE", "", ["A", "b"]) == ""  # optional: off
  monkeypatch.setenv("OPS_T_CHOICE", "a")
  assert env.choice("OPS_T_CHOICE", "b", ["A", "b"]) == "A"
  monkeypatch.setenv("OPS_T_CHOICE", "c")
  with pytest.raises(ImproperlyConfigured, match="expected one of A, b"):
    env.choice("OPS_T_CHOICE", "", ["A", "b"])


def test_url_values(env, monkeypatch):
  assert env.url("OPS_T_URL") == ""
  monkeypatch.setenv("OPS_T_URL", "https://example.com/x")
  assert env.url("OPS_T_URL") == "https://example.com/x"
  monkeypatch.setenv("OPS_T_URL", "example.com")
  with pytest.raises(ImproperlyConfigured, match="an http:// or https:// URL"):
    env.url("OPS_T_URL")


def test_database_values(env, monkeypatch):
  # given / then: the default, then PostgreSQL from the environment
  assert env.database("OPS_T_DB", "sqlite:////tmp/x.sqlite3")["NAME"] == "/tmp/x.sqlite3"
  monkeypatch.setenv("OPS_T_DB", "postgres://app:pw@db.local:6543/shop")
  config = env.database("OPS_T_DB", "sqlite:////tmp/x.sqlite3")
  assert (config["ENGINE"], config["HOST"], config["PORT"]) == (
    "django.db.backends.postgresql",
    "db.local",
    6543,
  )
  assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("shop", "app", "pw")


@pytest.mark.parametrize(
  ("url", "shown"),
  [
    ("redis://u:secretpw@cache:6379/0", "'redis://***@cache:6379/0'"),
    ("nonsense", "'nonsense'"),
  ],
)
def test_database_errors_mask_credentials(env, monkeypatch, url, shown):
  monkeypatch.setenv("OPS_T_DB", url)

  with pytest.raises(ImproperlyConfigured) as error:
    env.database("OPS_T_DB", "sqlite:////tmp/x.sqlite3")

  assert str(error.value).startswith(f"OPS_T_DB={shown} is invalid")


def test_bad_value_shortens_long_values():
  message = str(bad_value("NAME", "x" * 100, "something short"))

  assert message == (
    f"NAME='{'x' * 57}...' is invalid: expected something short. Fix it in .env or the environment."
  )


# --- scripts/init_env.py ------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path):
  shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
  return tmp_path


def env_values(path: Path) -> dict[str, str]:
  lines = path.read_text(encoding="utf-8").splitlines()
  return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_init_env_creates_env_with_fresh_secrets(project):
  # when
  done = init_env(project)

  # then
  assert done == [
    "created .env from .env.example",
    "generated SECRET_KEY in .env",
    "generated LLM_MODEL_DECRYPT_KEY in .env",
  ]
  values = env_values(project / ".env")
  assert len(values["SECRET_KEY"]) >= 50
  Fernet(values["LLM_MODEL_DECRYPT_KEY"])  # a valid key
  assert values["LOG_LEVEL"] == "INFO"  # everything else as in the example
  assert stat.S_IMODE((project / ".env").stat().st_mode) == 0o600


def test_init_env_keeps_existing_secrets(project):
  # given
  init_env(project)
  before = (project / ".env").read_text()

  # when
  done = init_env(project)

  # then
  assert done == []
  assert (project / ".env").read_text() == before


def test_init_env_fills_only_what_is_missing(project):
  # given an old .env with a secret key and no decrypt key line at all
  (project / ".env").write_text("SECRET_KEY=kept-as-is\nDEBUG=true", encoding="utf-8")

  # when
  done = init_env(project)

  # then
  assert done == ["generated LLM_MODEL_DECRYPT_KEY in .env"]
  values = env_values(project / ".env")
  assert (values["SECRET_KEY"], values["DEBUG"]) == ("kept-as-is", "true")
  Fernet(values["LLM_MODEL_DECRYPT_KEY"])


def test_init_env_script_says_what_it_did(project):
  # given a copy of the script inside a temporary project
  (project / "scripts").mkdir()
  shutil.copy(ROOT / "scripts" / "init_env.py", project / "scripts" / "init_env.py")

  # when
  first = subprocess.run(
    [sys.executable, "scripts/init_env.py"], cwd=project, capture_output=True, text=True, check=True
  )
  second = subprocess.run(
    [sys.executable, "scripts/init_env.py"], cwd=project, capture_output=True, text=True, check=True
  )

  # then
  assert first.stdout.splitlines() == [
    "setup: created .env from .env.example",
    "setup: generated SECRET_KEY in .env",
    "setup: generated LLM_MODEL_DECRYPT_KEY in .env",
  ]
  assert second.stdout == ""
