"""Docker HEALTHCHECK: the admin (`serve`) must answer HTTP; other commands need only be running."""

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path


def serving_admin(proc: Path = Path("/proc")) -> bool:
  """True when a uvicorn process runs in this container."""
  for cmdline in proc.glob("[0-9]*/cmdline"):
    try:
      if b"uvicorn" in cmdline.read_bytes():
        return True
    except OSError:  # the process ended while we looked
      continue
  return False


def admin_answers(url: str) -> bool:
  try:
    with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310
      return response.status < 500
  except urllib.error.HTTPError as error:
    return error.code < 500
  except OSError:
    return False


def main() -> int:
  if not serving_admin():
    return 0
  port = os.environ.get("PORT", "8000")
  return 0 if admin_answers(f"http://127.0.0.1:{port}/admin/login/") else 1


if __name__ == "__main__":
  sys.exit(main())
