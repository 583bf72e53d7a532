"""Find strings that look like LLM provider API keys in the repository's text files.

Scans what git tracks plus untracked files git doesn't ignore (a key is caught before it is
committed); without git, walks the tree skipping virtualenvs, caches and `var/`. Findings show a
masked key only. A line containing `key-scan: ignore` is skipped (for documentation).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

# (label, pattern) — specific prefixes first, so an OpenRouter key isn't reported as OpenAI.
KEY_PATTERNS: list[tuple[str, str]] = [
  ("Anthropic", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
  ("OpenRouter", r"sk-or-[A-Za-z0-9_\-]{20,}"),
  ("OpenAI", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
  ("Google", r"AIza[0-9A-Za-z_\-]{35}"),
  ("Groq", r"gsk_[A-Za-z0-9]{40,}"),
  ("xAI", r"xai-[A-Za-z0-9]{40,}"),
  ("Perplexity", r"pplx-[A-Za-z0-9]{40,}"),
  ("Hugging Face", r"hf_[A-Za-z0-9]{30,}"),
  ("Yandex Cloud", r"AQVN[A-Za-z0-9_\-]{35,}"),
]
_COMBINED = re.compile(
  r"(?<![A-Za-z0-9_\-])(?:"
  + "|".join(f"(?P<g{i}>{p})" for i, (_l, p) in enumerate(KEY_PATTERNS))
  + ")"
)
_PREFIXES = ("sk-", "AIza", "gsk_", "xai-", "pplx-", "hf_", "AQVN")
IGNORE_MARKER = "key-scan: ignore"
SKIP_DIRS = {
  ".git",
  ".venv",
  "venv",
  "env",
  "node_modules",
  "var",
  "staticfiles",
  "htmlcov",
  "test-artifacts",
  "__pycache__",
  ".pytest_cache",
  ".ruff_cache",
  ".mypy_cache",
}
SKIP_SUFFIXES = {
  ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".pdf", ".zip", ".gz", ".tgz", ".xz",
  ".mo", ".pyc", ".sqlite3", ".db", ".woff", ".woff2", ".ttf", ".eot", ".xlsx", ".whl",
}  # fmt: skip
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class KeyFinding:
  path: str  # relative to the scanned root
  line: int
  provider: str
  masked: str  # first and last characters only

  def __str__(self) -> str:
    return (
      f"{self.path}:{self.line}: looks like a plaintext {self.provider} API key ({self.masked})"
    )


def mask(key: str) -> str:
  return f"{key[:6]}…{key[-2:]} ({len(key)} chars)"


def repository_files(root: Path) -> list[Path]:
  """Files git tracks or would track (not ignored); a directory walk when git isn't available."""
  try:
    output = subprocess.run(
      ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
      capture_output=True,
      check=True,
      timeout=30,
    ).stdout
  except (OSError, subprocess.SubprocessError):
    return _walk(root)
  names = {name for name in output.decode("utf-8", "surrogateescape").split("\0") if name}
  return [root / name for name in sorted(names) if not SKIP_DIRS.intersection(Path(name).parts)]


def _walk(root: Path) -> list[Path]:
  files = []
  for directory, dirs, names in os.walk(root):
    dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
    files += [Path(directory) / name for name in sorted(names) if name != ".env"]
  return files


def scan_text(text: str, *, path: str) -> list[KeyFinding]:
  """Key-like strings in one text, with 1-based line numbers."""
  if not any(prefix in text for prefix in _PREFIXES):
    return []
  findings = []
  for number, line in enumerate(text.splitlines(), start=1):
    if IGNORE_MARKER in line:
      continue
    for match in _COMBINED.finditer(line):
      key = match.group(0)
      # Real keys mix letters and digits; "sk-this-is-a-placeholder-value" is not reported.
      if not (re.search(r"\d", key) and re.search(r"[A-Za-z].*[A-Za-z]", key[4:])):
        continue
      label = KEY_PATTERNS[int(match.lastgroup[1:])][0]
      findings.append(KeyFinding(path=path, line=number, provider=label, masked=mask(key)))
  return findings


def scan_repository(root: Path) -> list[KeyFinding]:
  """Key-like strings in the repository's text files (binary and large files are skipped)."""
  findings = []
  for path in repository_files(root):
    if path.suffix.lower() in SKIP_SUFFIXES:
      continue
    try:
      if not path.is_file() or path.stat().st_size > MAX_BYTES:
        continue
      data = path.read_bytes()
    except OSError:
      continue
    if b"\0" in data[:8192]:
      continue
    relative = path.relative_to(root).as_posix()
    findings += scan_text(data.decode("utf-8", "ignore"), path=relative)
  return findings
