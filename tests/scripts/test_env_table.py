from pathlib import Path

from scripts.env_table import BEGIN, END, env_rows, env_table, readme_with_table

ROOT = Path(__file__).resolve().parents[2]


def test_env_rows_take_section_default_and_the_comment_above():
  # given
  text = "# --- Core ----\n# The secret.\n# Never commit it.\nSECRET_KEY=\n\nDEBUG=false\n"

  # when
  rows = env_rows(text)

  # then
  assert rows == [
    ("Core", "SECRET_KEY", "", "The secret. Never commit it."),
    ("Core", "DEBUG", "false", ""),
  ]


def test_env_table_renders_sections_and_escapes_pipes():
  table = env_table("# --- Web ---\n# a | b\nPORT=8000\n")

  assert table.splitlines() == [
    "| variable | default | meaning |",
    "|---|---|---|",
    "| **Web** | | |",
    "| `PORT` | `8000` | a / b |",
  ]


def test_readme_with_table_replaces_only_between_markers():
  readme = f"intro\n{BEGIN}\nold\n{END}\noutro\n"

  assert readme_with_table(readme, "new") == f"intro\n{BEGIN}\nnew\n{END}\noutro\n"


def test_readme_configuration_table_matches_env_example():
  # The README must document every variable exactly as .env.example does.
  readme = (ROOT / "README.md").read_text(encoding="utf-8")
  table = env_table((ROOT / ".env.example").read_text(encoding="utf-8"))

  assert readme_with_table(readme, table) == readme, (
    "README.md configuration table is stale: run `python scripts/env_table.py --write`"
  )


def test_russian_readme_configuration_table_matches_env_example():
  readme = (ROOT / "docs" / "README.ru.md").read_text(encoding="utf-8")
  table = env_table((ROOT / ".env.example").read_text(encoding="utf-8"))

  assert readme_with_table(readme, table) == readme, (
    "docs/README.ru.md configuration table is stale: run `python scripts/env_table.py --write`"
  )


def test_main_prints_the_table(capsys):
  from scripts.env_table import main

  assert main([]) == 0
  assert capsys.readouterr().out.startswith("| variable | default | meaning |")
