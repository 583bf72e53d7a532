"""The model registry at run time: snapshots of the rows, hot reload, the fallback chain.

Before each completion `registry_specs()` does a cheap check: the file's mtime / the URL's poll
interval (changes are synced into the database), then the table's change stamp, read with the
other content tables' at most once a second (leads/cache.py); rows are re-read only when it moved. The LLM call gets plain
`ModelSpec` snapshots, so no database connection is held while it runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from django.conf import settings

from assistant.db import run_db
from leads.cache import Cached, stamps_reset
from llm.crypto import token_is_valid
from llm.errors import RegistryError
from llm.models import LLMModel
from llm.schema import row_validate
from llm.sources import ModelSource, source_get, source_kind, sources_reset

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
  """An immutable snapshot of one LLMModel row (safe to use without the database)."""

  pk: int
  provider_model_name: str
  provider: str
  model: str
  base_url: str
  encrypted_api_key: str
  params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
  is_default: bool = False
  active: bool = True
  customer_selectable: bool = True
  fallback_order: int = 100
  price_prompt_per_1k: Decimal = Decimal("0")
  price_completion_per_1k: Decimal = Decimal("0")

  @classmethod
  def from_model(cls, row: LLMModel) -> ModelSpec:
    return cls(
      pk=row.pk,
      provider_model_name=row.provider_model_name,
      provider=row.provider,
      model=row.model,
      base_url=row.base_url,
      encrypted_api_key=row.encrypted_api_key,
      params=dict(row.params or {}),
      is_default=row.is_default,
      active=row.active,
      customer_selectable=row.customer_selectable,
      fallback_order=row.fallback_order,
      price_prompt_per_1k=Decimal(row.price_prompt_per_1k),
      price_completion_per_1k=Decimal(row.price_completion_per_1k),
    )


class _Row(Protocol):
  provider_model_name: str
  is_default: bool
  active: bool
  fallback_order: int


R = TypeVar("R", bound=_Row)


# --- snapshots of the database --------------------------------------------------------------------
def _rows_load() -> tuple[list[LLMModel], tuple[ModelSpec, ...]]:
  rows = list(LLMModel.objects.all())  # in fallback order (Meta.ordering)
  return rows, tuple(ModelSpec.from_model(row) for row in rows)


# Every row (for llm.selectors) and its spec, re-read only when the table's stamp moves.
_rows = Cached("llm_model", build=_rows_load)


def rows_load() -> list[LLMModel]:
  """Every LLMModel row in fallback order (cached; treat as read-only)."""
  return _rows.get()[0]


def specs_load() -> tuple[ModelSpec, ...]:
  """All rows as specs; re-read only when the table changed (see leads/cache.py)."""
  return _rows.get()[1]


def registry_reset() -> None:
  """Forget cached rows and source state (tests; after changing settings)."""
  _rows.reset()
  sources_reset()


# --- hot reload of file / URL sources ----------------------------------------------------------
def source_sync(*, force: bool = False) -> dict[str, list[str]] | None:
  """Poll the configured source and sync changed rows into the database (sync code)."""
  source = source_get()
  if not source.syncs:
    return None
  rows = source.poll(force=force)
  return None if rows is None else _sync(source, rows)


def _sync(source: ModelSource, rows: list[dict[str, Any]]) -> dict[str, list[str]]:
  from llm.services import registry_sync

  result = registry_sync(rows=rows, source=source.kind)
  stamps_reset()
  if any(names for key, names in result.items() if key != "unchanged"):
    summary = ", ".join(f"{len(names)} {key}" for key, names in result.items())
    logger.info("LLM registry synced from %s: %s", source.describe(), summary)
  return result


async def registry_specs() -> tuple[ModelSpec, ...]:
  """Specs for a completion, after the cheap change checks (never raises for a bad source)."""
  source = source_get()
  if source.syncs:
    try:
      # The poll may read a file or fetch a URL: off the event loop, and without a DB connection.
      rows = await asyncio.to_thread(source.poll)
    except RegistryError as error:
      logger.error("LLM registry not reloaded, keeping the previous models: %s", error)
      rows = None
    if rows is not None:
      await run_db(_sync, source, rows)
  cached = _rows.peek()  # checked less than a second ago: no trip to an ORM thread
  return cached[1] if cached is not None else await run_db(specs_load)


# --- default and fallback chain ----------------------------------------------------------------
def default_pick(rows: Iterable[R]) -> R | None:
  """DEFAULT_LLM_MODEL if active, else the admin's default, else the first active row by order."""
  active = sorted(
    (row for row in rows if row.active), key=lambda r: (r.fallback_order, r.provider_model_name)
  )
  wanted = settings.DEFAULT_LLM_MODEL
  if wanted:
    for row in active:
      if row.provider_model_name == wanted:
        return row
  return next((row for row in active if row.is_default), active[0] if active else None)


def chain_build(specs: Sequence[ModelSpec], model_name: str | None = None) -> list[ModelSpec]:
  """The order to try: the requested model, the default, then other active ones by fallback_order."""
  active = sorted(
    (spec for spec in specs if spec.active), key=lambda s: (s.fallback_order, s.provider_model_name)
  )
  by_name = {spec.provider_model_name: spec for spec in active}
  first = [by_name[model_name]] if model_name in by_name else []
  default = default_pick(active)
  if default is not None:
    first.append(default)
  chain: list[ModelSpec] = []
  for spec in [*first, *active]:
    if spec not in chain:
      chain.append(spec)
  return chain


# --- start-up validation --------------------------------------------------------------------------
@dataclass(frozen=True)
class RegistryReport:
  source: str
  models: list[str]  # active provider_model_names in fallback order
  default: str | None
  sync: dict[str, list[str]] | None


def registry_validate() -> RegistryReport:
  """Load and sync the configured source, then check rows, keys and DEFAULT_LLM_MODEL (sync code).

  Raises RegistryError with one line per problem; runbot calls it before starting.
  """
  source = source_get()
  sync = source_sync(force=True)
  rows = list(LLMModel.objects.all())
  problems = _db_row_problems(rows)
  active = [row for row in rows if row.active]
  wanted = settings.DEFAULT_LLM_MODEL
  if wanted and wanted not in {row.provider_model_name for row in active}:
    known = ", ".join(row.provider_model_name for row in active) or "none"
    problems.append(f"DEFAULT_LLM_MODEL={wanted!r} is not an active model; active models: {known}")
  if problems:
    raise RegistryError(source.describe(), problems)
  default = default_pick(active)
  report = RegistryReport(
    source=source_kind(),
    models=[row.provider_model_name for row in sorted(active, key=_order)],
    default=default.provider_model_name if default else None,
    sync=sync,
  )
  if not active:
    logger.warning("No active LLM model: answers come from the FAQ only (see docs/llm.md)")
  else:
    logger.info(
      "LLM models from %s: %s; default %s", source.describe(), report.models, report.default
    )
  return report


def _order(row: LLMModel) -> tuple[int, str]:
  return (row.fallback_order, row.provider_model_name)


def _db_row_problems(rows: Iterable[LLMModel]) -> list[str]:
  """Every active row validated like a file row, plus its key decrypted with the master key(s)."""
  problems = []
  for row in rows:
    if not row.active:
      continue
    label = f"model {row.provider_model_name!r}"
    _valid, row_problems = row_validate(model_as_row(row), label=label)
    problems += row_problems
    if row.encrypted_api_key and not row_problems and not token_is_valid(row.encrypted_api_key):
      problems.append(
        f"{label}: its API key can't be decrypted with LLM_MODEL_DECRYPT_KEY (wrong master key?)"
      )
  return problems


def model_as_row(row: LLMModel) -> dict[str, Any]:
  """An LLMModel as a registry row dict (for validation and export)."""
  return {
    "provider_model_name": row.provider_model_name,
    "provider": row.provider,
    "model": row.model,
    "base_url": row.base_url,
    "encrypted_api_key": row.encrypted_api_key,
    "params": row.params,
    "active": row.active,
    "customer_selectable": row.customer_selectable,
    "fallback_order": row.fallback_order,
    "context_window": row.context_window,
    "price_prompt_per_1k": str(row.price_prompt_per_1k),
    "price_completion_per_1k": str(row.price_completion_per_1k),
  }
