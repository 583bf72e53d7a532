"""Re-encrypt every stored API key (file and database) with the first master key."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from llm.crypto import master_keys, rotate_token
from llm.errors import LLMKeyError, MasterKeyMissing
from llm.models import LLMModel


class Command(BaseCommand):
  help = (
    "Rotate LLM API key encryption: put the new Fernet key first in LLM_MODEL_DECRYPT_KEY "
    "(keep the old one after a comma), run this, then remove the old key. Rewrites the "
    "encrypted_api_key of every model in LLM_MODELS_FILE and in the database."
  )

  def add_arguments(self, parser: Any) -> None:
    parser.add_argument(
      "--file", type=Path, help="Registry file to rewrite (default: LLM_MODELS_FILE)."
    )
    parser.add_argument("--skip-file", action="store_true", help="Only rotate database rows.")
    parser.add_argument("--skip-db", action="store_true", help="Only rotate the file.")

  def handle(self, *args: Any, **options: Any) -> None:
    if not master_keys():
      raise CommandError(str(MasterKeyMissing("LLM_MODEL_DECRYPT_KEY is not set.")))
    try:
      if not options["skip_file"]:
        self._rotate_file(options.get("file") or settings.LLM_MODELS_FILE)
      if not options["skip_db"]:
        self._rotate_db()
    except LLMKeyError as error:
      raise CommandError(f"{error} Nothing was changed in that store.") from None
    if len(master_keys()) > 1:
      self.stdout.write("Done. You can now remove the old key(s) from LLM_MODEL_DECRYPT_KEY.")

  def _rotate_file(self, path: Path) -> None:
    if not path.is_file():
      self.stdout.write(f"No registry file at {path}: skipped.")
      return
    try:
      data = json.loads(path.read_text(encoding="utf-8"))
      models = data["models"]
    except (ValueError, KeyError, TypeError):
      raise CommandError(f'{path} is not a registry file ({{"models": [...]}}).') from None
    keyed = [row for row in models if isinstance(row, dict) and row.get("encrypted_api_key")]
    for index, row in enumerate(keyed, start=1):
      name = row.get("provider_model_name") or "?"
      row["encrypted_api_key"] = rotate_token(row["encrypted_api_key"], model_name=name)
      self.stdout.write(f"[{index}/{len(keyed)}] file: {name}")
    _write_atomically(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    self.stdout.write(f"Rotated {len(keyed)} key(s) in {path}.")

  def _rotate_db(self) -> None:
    with transaction.atomic():
      rows = list(LLMModel.objects.select_for_update().exclude(encrypted_api_key=""))
      for index, row in enumerate(rows, start=1):
        row.encrypted_api_key = rotate_token(
          row.encrypted_api_key, model_name=row.provider_model_name
        )
        row.save(update_fields=["encrypted_api_key", "updated_at"])
        self.stdout.write(f"[{index}/{len(rows)}] database: {row.provider_model_name}")
    self.stdout.write(f"Rotated {len(rows)} key(s) in the database.")


def _write_atomically(path: Path, text: str) -> None:
  """Write next to the file and rename over it, keeping its permissions."""
  mode = path.stat().st_mode & 0o777
  fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
  try:
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
      handle.write(text)
    os.chmod(temp, mode)
    os.replace(temp, path)
  except BaseException:
    os.unlink(temp)
    raise
