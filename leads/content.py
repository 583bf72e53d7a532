"""Loading the content file (prompts, FAQ, catalog, scenarios) into the database, and hot reload.

Which source wins (docs/content.md): the file is loaded at start and whenever it changes. A row
that came from the file is updated from it; a row edited in the admin since the last load is kept
(reported as "kept") unless `force`. Rows created in the admin are never touched. Items removed
from the file are deactivated, not deleted (leads and feedback may point at them).

The whole file is validated before anything is written, and all writes happen in one
transaction, so a broken file never wipes or half-updates the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction

from leads.cache import stamps_reset
from leads.content_schema import (
  Content,
  ContentError,
  FAQItem,
  PromptItem,
  ScenarioItem,
  ServiceItem,
  content_parse_file,
)
from leads.models import CatalogService, ContentLoad, FAQEntry, Scenario
from llm.models import Prompt

logger = logging.getLogger(__name__)

__all__ = ["ContentError", "content_load", "content_path", "content_reload_if_changed"]

KEEP_LOADS = 50  # ContentLoad rows kept as history
Progress = Callable[[str, int, int], None]  # (section, done, total)


@dataclass(frozen=True)
class _Section:
  name: str
  model: type[models.Model]
  id_field: str
  fields: tuple[str, ...]


SECTIONS = (
  _Section("prompts", Prompt, "key", ("text", "active")),
  _Section("faq", FAQEntry, "key", ("question", "answer", "keywords", "active")),
  _Section(
    "catalog",
    CatalogService,
    "slug",
    ("name", "description", "price", "currency", "ordering", "active"),
  ),
  _Section("scenarios", Scenario, "key", ("title", "steps", "active")),
)
Item = PromptItem | FAQItem | ServiceItem | ScenarioItem


@dataclass
class SectionSummary:
  created: int = 0
  updated: int = 0
  unchanged: int = 0
  kept: int = 0  # edited in the admin after the last load, so the file's version was not applied
  deactivated: int = 0


@dataclass
class LoadResult:
  path: str
  sha256: str
  dry_run: bool = False
  forced: bool = False
  sections: dict[str, SectionSummary] = field(default_factory=dict)

  @property
  def changed(self) -> int:
    return sum(s.created + s.updated + s.deactivated for s in self.sections.values())


def content_path() -> Path | None:
  """The configured content file (relative paths are under the project), or None if disabled."""
  value = str(settings.CONTENT_FILE or "").strip()
  if not value or value.lower() in {"none", "off"}:
    return None
  path = Path(value)
  return path if path.is_absolute() else settings.BASE_DIR / path


def content_load(
  *,
  path: Path | None = None,
  force: bool = False,
  dry_run: bool = False,
  progress: Progress | None = None,
) -> LoadResult:
  """Validate the content file, then upsert it into the database in one transaction."""
  path = path or content_path()
  if path is None:
    raise ContentError(["CONTENT_FILE is 'none': there is no content file to load"])
  raw = _read(path)
  content = content_parse_file(path)
  digest = hashlib.sha256(raw).hexdigest()
  result = LoadResult(path=str(path), sha256=digest, dry_run=dry_run, forced=force)
  try:
    with transaction.atomic():
      _lock_loads()
      previous = ContentLoad.objects.first()
      items = _apply(content, previous.items if previous else {}, result, force, progress)
      if dry_run:
        raise _DryRun
      ContentLoad.objects.create(
        path=str(path), sha256=result.sha256, forced=force, summary=_summary(result), items=items
      )
      _prune_loads()
      stamps_reset()  # this process reads the new rows at once (others within a second)
  except _DryRun:
    pass
  logger.info("Content %s from %s: %s", "checked" if dry_run else "loaded", path, _brief(result))
  return result


class _DryRun(Exception):
  """Raised inside the transaction to roll a dry run back."""


def _read(path: Path) -> bytes:
  try:
    return path.read_bytes()
  except OSError as error:
    raise ContentError([f"{path}: cannot be read ({error})"]) from None


def _lock_loads() -> None:
  # Two processes (bot, admin) noticing the same change must not upsert the same rows at once.
  # SQLite needs nothing: its IMMEDIATE transactions already take the write lock at BEGIN.
  if connection.vendor == "postgresql":
    with connection.cursor() as cursor:
      cursor.execute("SELECT pg_advisory_xact_lock(hashtext('leads.content_load'))")


def _prune_loads() -> None:
  old = ContentLoad.objects.values_list("pk", flat=True)[KEEP_LOADS:]
  ContentLoad.objects.filter(pk__in=list(old)).delete()


def _apply(
  content: Content, previous: dict, result: LoadResult, force: bool, progress: Progress | None
) -> dict[str, str]:
  state: dict[str, str] = {}
  for section in SECTIONS:
    summary = result.sections[section.name] = SectionSummary()
    items: list[Item] = getattr(content, section.name)
    rows = {(getattr(r, section.id_field), r.language): r for r in section.model.objects.all()}
    seen = set()
    for done, item in enumerate(items, start=1):
      key = _state_key(section, item)
      seen.add(key)
      row = rows.get((getattr(item, section.id_field), item.language))
      _apply_item(section, item, row, key, previous, state, summary, force)
      if progress is not None:
        progress(section.name, done, len(items))
    for key in previous:
      if key.startswith(f"{section.name}:") and key not in seen:
        _deactivate(section, key, rows, previous, state, summary, force)
  return state


def _apply_item(
  section: _Section,
  item: Item,
  row: models.Model | None,
  key: str,
  previous: dict,
  state: dict,
  summary: SectionSummary,
  force: bool,
) -> None:
  wanted = _values(section, item)
  new_hash = _hash(wanted)
  if row is None:
    _write(section, None, item, wanted)
    summary.created += 1
  elif (row_hash := _hash(_values(section, row))) == new_hash:
    summary.unchanged += 1
  elif force or previous.get(key) == row_hash:
    _write(section, row, item, wanted)
    summary.updated += 1
  else:
    summary.kept += 1
    logger.info("Content %s kept: edited in the admin since the last load", key)
    if key in previous:
      state[key] = previous[key]
    return
  state[key] = new_hash


def _deactivate(
  section: _Section,
  key: str,
  rows: dict,
  previous: dict,
  state: dict,
  summary: SectionSummary,
  force: bool,
) -> None:
  _name, ident, language = key.split(":", 2)
  row = rows.get((ident, language))
  if row is None:
    return  # deleted in the admin: nothing left to do
  values = _values(section, row)
  if _hash(values) != previous[key] and not force:
    summary.kept += 1  # edited in the admin: from now on it is the admin's row
    return
  if row.active:
    row.active = False
    row.save()
    summary.deactivated += 1
  state[key] = _hash(_values(section, row))


def _write(section: _Section, row: models.Model | None, item: Item, values: dict) -> None:
  if section.model is Prompt:
    _write_prompt(row, item, values)
    return
  if row is None:
    row = section.model(**{section.id_field: getattr(item, section.id_field)})
    row.language = item.language
  for name, value in values.items():
    setattr(row, name, value)
  row.save()  # the schema already validated every field against the model's limits


def _write_prompt(row: Prompt | None, item: PromptItem, values: dict) -> None:
  from llm.prompts import prompt_update

  if row is None:
    row = Prompt(key=item.key, language=item.language, text="", active=item.active)
  row.active = values["active"]
  prompt_update(prompt=row, text=values["text"])


def _values(section: _Section, obj: object) -> dict:
  return {name: _canonical(getattr(obj, name)) for name in section.fields}


def _canonical(value: object) -> object:
  if isinstance(value, Decimal):
    return value.quantize(Decimal("0.01"))
  return value


def _hash(values: dict) -> str:
  text = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
  return hashlib.sha256(text.encode()).hexdigest()[:32]


def _state_key(section: _Section, item: Item) -> str:
  return f"{section.name}:{getattr(item, section.id_field)}:{item.language}"


def _summary(result: LoadResult) -> dict:
  return {name: asdict(summary) for name, summary in result.sections.items()}


def _brief(result: LoadResult) -> str:
  return "; ".join(
    f"{name} " + ", ".join(f"{k} {v}" for k, v in asdict(s).items() if v)
    for name, s in result.sections.items()
  )


# --- Hot reload ---------------------------------------------------------------------------------
@dataclass
class _Watch:
  checked_at: float = float("-inf")
  seen: tuple | None = None  # (path, mtime_ns, size) last looked at


_watch = _Watch()
_watch_lock = threading.Lock()


def content_reload_if_changed() -> LoadResult | None:
  """Reload the content file if it changed since it was last seen; cheap enough for every message.

  Looks at the file at most every CONTENT_RELOAD_SECONDS (a stat call); reads and hashes it only
  when its mtime or size moved, and loads it only when the hash differs from the last load
  recorded in the database (so a restart or a second process does not reload an unchanged file).
  An invalid file is logged once per change and the database is left as it is.
  """
  now = time.monotonic()
  if now - _watch.checked_at < settings.CONTENT_RELOAD_SECONDS:
    return None  # checked a moment ago (the common case: cheaper than even building the path)
  path = content_path()
  if path is None:
    return None
  if not _watch_lock.acquire(blocking=False):
    return None  # another thread is checking or loading; it will pick the change up
  try:
    _watch.checked_at = now
    return _reload_if_changed(path)
  finally:
    _watch_lock.release()


def _reload_if_changed(path: Path) -> LoadResult | None:
  try:
    stat = path.stat()
  except OSError:
    if _watch.seen != (str(path), None, None):
      logger.warning("Content file %s not found; the database content stays as it is", path)
      _watch.seen = (str(path), None, None)
    return None
  seen = (str(path), stat.st_mtime_ns, stat.st_size)
  if seen == _watch.seen:
    return None
  latest = ContentLoad.objects.values_list("sha256", flat=True).first()
  result = None
  try:
    if hashlib.sha256(_read(path)).hexdigest() != latest:
      result = content_load(path=path)
  except ContentError as error:
    logger.error("Content file %s is invalid; nothing was changed:\n%s", path, error)
  except DatabaseError:
    # The message being answered matters more than the reload: answer with the current
    # content and try again on the next check (the file is not marked as seen).
    logger.exception("Content file %s could not be loaded; will retry", path)
    return None
  _watch.seen = seen
  return result


def content_watch_reset() -> None:
  """Forget what the watcher has seen, so the next call checks the file (tests, admin action)."""
  with _watch_lock:
    _watch.checked_at = float("-inf")
    _watch.seen = None
