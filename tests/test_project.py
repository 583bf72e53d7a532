"""The project's shape: layout, documented configuration, ignored files, lint settings, CI."""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = [
  "manage.py",
  "assistant/settings.py",
  "assistant/urls.py",
  "assistant/asgi.py",
  "assistant/wsgi.py",
  "bot",
  "leads",
  "llm",
  "memory",
  "locale/ru/LC_MESSAGES",
  "locale/en/LC_MESSAGES",
  "tests",
  "environment.yml",
  "Dockerfile",
  ".dockerignore",
  "docker/entrypoint.sh",
  "README.md",
  "docs/README.ru.md",
  "docs/logging.md",
  "pyproject.toml",
  "Makefile",
  ".env.example",
  ".gitignore",
  ".ci/run",
  "scripts/init_env.py",
]


def settings_variables() -> set[str]:
  """Names read in assistant/settings.py through the typed `env.<type>("NAME", ...)` helpers."""
  source = (ROOT / "assistant" / "settings.py").read_text(encoding="utf-8")
  return set(re.findall(r'\benv\.\w+\(\s*"([A-Z][A-Z0-9_]*)"', source))


def example_lines() -> list[str]:
  return (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()


def example_variables() -> dict[str, int]:
  """Variable name -> line index in .env.example."""
  names = {}
  for index, line in enumerate(example_lines()):
    match = re.match(r"([A-Z][A-Z0-9_]*)=", line)
    if match:
      names[match.group(1)] = index
  return names


def test_layout_from_the_foundation_issue_exists():
  missing = [entry for entry in LAYOUT if not (ROOT / entry).exists()]

  assert missing == [], f"missing from the project layout: {missing}"


def test_env_example_documents_every_variable_settings_read():
  # given
  read = settings_variables()

  # then
  assert len(read) > 40  # the parser found the env.* calls
  missing = sorted(read - set(example_variables()))
  assert missing == [], f"read in assistant/settings.py but not in .env.example: {missing}"


def test_env_example_has_no_stale_variables():
  stale = sorted(set(example_variables()) - settings_variables())

  assert stale == [], f"in .env.example but never read in assistant/settings.py: {stale}"


def test_every_example_variable_has_a_comment_above_it():
  lines = example_lines()

  bare = [
    name for name, index in example_variables().items() if not lines[index - 1].startswith("#")
  ]

  assert bare == [], f"add a one-line comment above: {bare}"


def test_env_example_holds_no_secret_values():
  values = dict(line.split("=", 1) for line in example_lines() if re.match(r"[A-Z]", line))

  secret = [
    "SECRET_KEY",
    "LLM_MODEL_DECRYPT_KEY",
    "TELEGRAM_BOT_TOKEN",
    "LOG_HTTP_TOKEN",
    "SENTRY_DSN",
  ]
  assert {name: values[name] for name in secret} == dict.fromkeys(secret, "")


@pytest.mark.parametrize(
  "path",
  [
    ".env",
    ".venv/bin/python",
    "venv/lib/x.py",
    "env/bin/python",
    "db.sqlite3",
    "var/test_ops.sqlite3",
    "var/db.sqlite3-wal",
    "assistant.log",
    "var/log/assistant.log.3",
    "staticfiles/admin/base.css",
    "llm_models.json",
  ],
)
def test_gitignore_covers_secrets_virtualenvs_databases_and_logs(path):
  result = subprocess.run(
    ["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, capture_output=True
  )

  assert result.returncode == 0, f"{path} is not ignored by .gitignore"


@pytest.mark.parametrize("path", [".env.example", "assistant/settings.py", "docs/logging.md"])
def test_gitignore_keeps_project_files(path):
  result = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT)

  assert result.returncode == 1, f"{path} must not be ignored"


def test_ruff_uses_two_space_indentation():
  config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

  assert config["tool"]["ruff"]["indent-width"] == 2


def make_target(name: str) -> list[str]:
  """The recipe lines of a Makefile target."""
  lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
  start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}:"))
  recipe = []
  for line in lines[start + 1 :]:
    if not line.startswith("\t"):
      break
    recipe.append(line.strip())
  return recipe


def test_make_run_migrates_loads_content_then_runs_the_bot():
  recipe = make_target("run")

  assert [line.split("manage.py ")[1].split()[0] for line in recipe] == [
    "migrate",
    "load_content",
    "runbot",
  ]
  assert (ROOT / "Makefile").read_text().count("run: install") == 1


@pytest.mark.parametrize(
  "target", ["install", "run", "test", "lint", "format", "chat", "serve", "build"]
)
def test_make_targets_exist(target):
  assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), re.MULTILINE)


def test_ci_script_covers_postgres_lint_both_databases_and_chromium():
  script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")

  assert script.startswith("#!/usr/bin/env bash\n")
  assert "set -euo pipefail" in script
  assert "pg_isready" in script and "pg_ctlcluster" in script
  assert script.index("make install") < script.index("make lint") < script.index("make test")
  assert "make test-postgres" in script
  assert "command -v chromium" in script
  assert re.search(r"apt-get install -y .*chromium", script)
  tests = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
  assert "manage.py check" in tests and "makemigrations --check" in tests and "--cov" in tests


def test_ci_script_is_valid_bash():
  result = subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], capture_output=True, text=True)

  assert result.returncode == 0, result.stderr
