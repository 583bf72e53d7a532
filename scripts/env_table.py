"""Print the README configuration table from `.env.example` (the single place variables are documented).

`python scripts/env_table.py` prints it; `--write` replaces the table between the markers in README.md
and docs/README.ru.md.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- env-table:begin -->", "<!-- env-table:end -->"


def env_rows(text: str) -> list[tuple[str, str, str, str]]:
  """(section, name, default, description) for every variable in `.env.example` text."""
  rows, section, comment = [], "", []
  for line in text.splitlines():
    heading = re.match(r"#\s*---\s*(.+?)\s*-+\s*$", line)
    if heading:
      section, comment = heading.group(1), []
    elif line.startswith("#"):
      comment.append(line.lstrip("#").strip())
    elif "=" in line and re.match(r"^[A-Z][A-Z0-9_]*=", line):
      name, _, default = line.partition("=")
      rows.append((section, name, default.strip(), " ".join(comment)))
      comment = []
    else:
      comment = []
  return rows


def env_table(text: str) -> str:
  lines = ["| variable | default | meaning |", "|---|---|---|"]
  current = None
  for section, name, default, description in env_rows(text):
    if section != current:
      lines.append(f"| **{section}** | | |")
      current = section
    shown = f"`{default}`" if default else "—"
    lines.append(f"| `{name}` | {shown} | {description.replace('|', '/')} |")
  return "\n".join(lines)


def readme_with_table(readme: str, table: str) -> str:
  head, _, rest = readme.partition(BEGIN)
  _, _, tail = rest.partition(END)
  return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main(argv: list[str]) -> int:
  table = env_table((ROOT / ".env.example").read_text(encoding="utf-8"))
  if "--write" in argv:
    for readme in (ROOT / "README.md", ROOT / "docs" / "README.ru.md"):
      text = readme.read_text(encoding="utf-8")
      readme.write_text(readme_with_table(text, table), encoding="utf-8")
  else:
    print(table)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
