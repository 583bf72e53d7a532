import subprocess
from pathlib import Path

import pytest

from llm.keyscan import mask, repository_files, scan_repository, scan_text

# Keys are assembled at run time so this file never holds one (the scan reads it too).
BODY = "A1b2C3d4E5f6G7h8I9j0" * 3
KEYS = {
  "OpenAI": "sk-" + "proj-" + BODY,
  "OpenRouter": "sk-" + "or-v1-" + BODY,
  "Anthropic": "sk-" + "ant-api03-" + BODY,
  "Google": "AI" + "za" + BODY[:35],
  "Groq": "gsk" + "_" + BODY,
  "xAI": "xai" + "-" + BODY,
  "Perplexity": "pplx" + "-" + BODY,
  "Hugging Face": "hf" + "_" + BODY,
  "Yandex Cloud": "AQ" + "VN" + BODY,
}


@pytest.mark.parametrize(("provider", "key"), list(KEYS.items()))
def test_each_provider_key_shape_is_found(provider: str, key: str):
  [finding] = scan_text(f'API_KEY = "{key}"\n', path="settings.py")

  assert (finding.path, finding.line, finding.provider) == ("settings.py", 1, provider)
  assert finding.masked == mask(key)
  assert key not in str(finding)
  assert str(finding) == f"settings.py:1: looks like a plaintext {provider} API key ({mask(key)})"


def test_placeholders_words_and_ignored_lines_are_not_reported():
  text = "\n".join(
    [
      "export OPENAI_KEY=sk-...",
      "key: sk-your-key-goes-here-please-replace",
      "task-" + BODY,  # "sk-" inside a word
      f"example {KEYS['OpenAI']}  # key-scan: ignore",
      "nothing here",
    ]
  )

  assert scan_text(text, path="x") == []


def test_line_numbers_count_from_one():
  findings = scan_text(f"a\nb\n{KEYS['Groq']} and {KEYS['OpenAI']}\n", path="f.txt")

  assert [(f.line, f.provider) for f in findings] == [(3, "Groq"), (3, "OpenAI")]


def _git(root: Path, *args: str) -> None:
  subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_scan_repository_reads_tracked_and_untracked_files_but_not_ignored(tmp_path):
  # given a git repository with a planted key in a tracked file and one in an untracked file
  _git(tmp_path, "init", "-q")
  (tmp_path / ".gitignore").write_text(".env\nsecret/\n")
  (tmp_path / "app.py").write_text(f"KEY = '{KEYS['OpenAI']}'\n")
  (tmp_path / "notes.md").write_text(f"try {KEYS['OpenRouter']}\n")
  (tmp_path / ".env").write_text(f"OPENAI={KEYS['OpenAI']}\n")
  (tmp_path / "secret").mkdir()
  (tmp_path / "secret" / "k.txt").write_text(KEYS["Anthropic"])
  (tmp_path / ".venv").mkdir()
  (tmp_path / ".venv" / "lib.py").write_text(KEYS["Anthropic"])
  (tmp_path / "image.png").write_bytes(KEYS["Groq"].encode())
  (tmp_path / "blob.bin").write_bytes(b"\0" + KEYS["Groq"].encode())
  _git(tmp_path, "add", "app.py", ".gitignore", "image.png", "blob.bin")

  # when
  findings = scan_repository(tmp_path)

  # then
  assert [(f.path, f.provider) for f in findings] == [
    ("app.py", "OpenAI"),
    ("notes.md", "OpenRouter"),
  ]


def test_scan_without_git_walks_the_tree(tmp_path, monkeypatch):
  # given a plain directory (not a repository)
  (tmp_path / "pkg").mkdir()
  (tmp_path / "pkg" / "conf.json").write_text(f'{{"k": "{KEYS["Google"]}"}}')
  (tmp_path / ".env").write_text(KEYS["OpenAI"])
  (tmp_path / "var").mkdir()
  (tmp_path / "var" / "log.txt").write_text(KEYS["OpenAI"])
  (tmp_path / "big.txt").write_text(KEYS["OpenAI"])
  monkeypatch.setattr("llm.keyscan.MAX_BYTES", 10)
  (tmp_path / "pkg" / "small.txt").write_text("x")

  # when
  files = repository_files(tmp_path)
  findings = scan_repository(tmp_path)

  # then
  assert sorted(p.relative_to(tmp_path).as_posix() for p in files) == [
    "big.txt",
    "pkg/conf.json",
    "pkg/small.txt",
  ]
  assert findings == []  # conf.json is over the (patched) size limit too
  monkeypatch.setattr("llm.keyscan.MAX_BYTES", 10_000)
  assert [(f.path, f.provider) for f in scan_repository(tmp_path)] == [
    ("big.txt", "OpenAI"),
    ("pkg/conf.json", "Google"),
  ]


def test_scan_when_git_is_missing(tmp_path, monkeypatch):
  def no_git(*args, **kwargs):
    raise FileNotFoundError("git")

  monkeypatch.setattr("llm.keyscan.subprocess.run", no_git)
  (tmp_path / "a.txt").write_text(KEYS["xAI"])

  assert [f.provider for f in scan_repository(tmp_path)] == ["xAI"]


def test_unreadable_and_vanished_files_are_skipped(tmp_path, monkeypatch):
  ghost = tmp_path / "ghost.txt"
  monkeypatch.setattr("llm.keyscan.repository_files", lambda root: [ghost, tmp_path])

  assert scan_repository(tmp_path) == []

  real = tmp_path / "real.txt"
  real.write_text(KEYS["xAI"])

  def broken(self):
    raise PermissionError("denied")

  monkeypatch.setattr("llm.keyscan.repository_files", lambda root: [real])
  monkeypatch.setattr(Path, "read_bytes", broken)
  assert scan_repository(tmp_path) == []
