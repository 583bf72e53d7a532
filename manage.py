#!/usr/bin/env python
"""Django's command-line utility; a configuration error ends with one clear line, not a traceback."""

import os
import sys


def main() -> None:
  os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assistant.settings")
  from django.core.exceptions import ImproperlyConfigured
  from django.core.management import execute_from_command_line

  try:
    execute_from_command_line(sys.argv)
  except ImproperlyConfigured as error:
    print(f"Configuration error: {error}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
  main()
