"""Encrypt a provider API key for llm_models.json / the admin: reads it from stdin or a prompt."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from llm.crypto import encrypt_api_key
from llm.errors import MasterKeyMissing


class Command(BaseCommand):
  help = (
    "Encrypt an LLM provider API key with LLM_MODEL_DECRYPT_KEY and print the token for "
    'the "encrypted_api_key" field. The key is read from stdin (pipe it in) or typed at a hidden '
    "prompt; it is never taken from the command line, where shell history would keep it."
  )

  stealth_options = ("stdin",)  # tests pass a stream

  def handle(self, *args: Any, **options: Any) -> None:
    stdin = options.get("stdin") or sys.stdin
    # A terminal gets a prompt without echo; a pipe (`... | manage.py encrypt_api_key`) is read.
    plain = getpass.getpass("API key (input hidden): ") if stdin.isatty() else stdin.readline()
    plain = plain.strip()
    if not plain:
      raise CommandError("No API key given (pipe it on stdin or type it at the prompt).")
    try:
      token = encrypt_api_key(plain)
    except MasterKeyMissing as error:
      raise CommandError(str(error)) from None
    self.stdout.write(token)
