"""Create `.env` from `.env.example` and fill in a SECRET_KEY and a Fernet LLM_MODEL_DECRYPT_KEY."""

import re
import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def _fill(text: str, name: str, value: str) -> tuple[str, bool]:
  pattern = re.compile(rf"^{name}=\s*$", re.MULTILINE)
  if pattern.search(text):
    return pattern.sub(f"{name}={value}", text, count=1), True
  if not re.search(rf"^{name}=", text, re.MULTILINE):
    return text.rstrip("\n") + f"\n{name}={value}\n", True
  return text, False


def init_env(root: Path = ROOT) -> list[str]:
  """Write `.env` if missing and generate absent secrets; return what was done, for the user."""
  env_path, example = root / ".env", root / ".env.example"
  done = []
  if not env_path.exists():
    env_path.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    done.append("created .env from .env.example")
  text = env_path.read_text(encoding="utf-8")
  generators = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "LLM_MODEL_DECRYPT_KEY": lambda: Fernet.generate_key().decode(),
  }
  for name, generate in generators.items():
    text, changed = _fill(text, name, generate())
    if changed:
      done.append(f"generated {name} in .env")
  env_path.write_text(text, encoding="utf-8")
  env_path.chmod(0o600)
  return done


if __name__ == "__main__":
  for line in init_env():
    print(f"setup: {line}")
  sys.exit(0)
