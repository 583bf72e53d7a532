"""Optional semantic memory: embeddings from an OpenAI-protocol `/embeddings` endpoint.

Off unless MEMORY_EMBEDDINGS_MODEL names an LLM registry row (keep that row inactive so chats never
fall back to it). Vectors live in MessageEmbedding, a plain table on both databases: pgvector is
not used, so semantic scoring is a bounded scan of the newest SCAN_LIMIT embedded messages in the
search scope plus the full-text candidates, done in Python. The network call never runs on an ORM
thread: the engine awaits `query_vector()` first and passes the vector to `context_build`;
message vectors are filled by `manage.py rebuild_memory_index --embeddings` (run it from cron).
"""

from __future__ import annotations

import asyncio
import logging
import math
from array import array
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import mul

from django.conf import settings

from memory.models import Message, MessageEmbedding

logger = logging.getLogger(__name__)

SCAN_LIMIT = 200  # newest embedded messages in scope scored per query
TEXT_WEIGHT = 0.5  # combined score = TEXT_WEIGHT * full-text share + (1 - TEXT_WEIGHT) * cosine
MAX_INPUT_CHARS = 8000  # longer texts are cut before embedding


def embeddings_enabled() -> bool:
  return bool(settings.MEMORY_EMBEDDINGS_MODEL)


def _spec():
  """The registry row behind MEMORY_EMBEDDINGS_MODEL as a ModelSpec (ORM: call on a DB thread)."""
  from llm.models import LLMModel
  from llm.registry import ModelSpec

  row = LLMModel.objects.filter(provider_model_name=settings.MEMORY_EMBEDDINGS_MODEL).first()
  if row is None:
    raise LookupError(
      f"MEMORY_EMBEDDINGS_MODEL={settings.MEMORY_EMBEDDINGS_MODEL!r} is not a model"
    )
  return ModelSpec.from_model(row)


async def embed_texts(spec, texts: Sequence[str]) -> list[list[float]]:
  """Unit-length vectors for `texts`, in order, from the spec's `/embeddings` endpoint."""
  from llm.client import client_for

  response = await client_for(spec).embeddings.create(
    model=spec.model, input=[text[:MAX_INPUT_CHARS] for text in texts], encoding_format="float"
  )
  ordered = sorted(response.data, key=lambda item: item.index)
  return [_unit(item.embedding) for item in ordered]


async def query_vector(query: str) -> list[float] | None:
  """The query's vector, or None when semantic memory is off or the endpoint fails (logged)."""
  if not embeddings_enabled() or not query.strip():
    return None
  from assistant.db import run_db

  try:
    spec = await run_db(_spec)
    return (await embed_texts(spec, [query]))[0]
  except Exception as error:  # never let the optional part break an answer
    logger.warning("Query embedding failed, using full-text memory only: %s", error)
    return None


def semantic_scores(
  *,
  customer_id: int,
  chat_id: int,
  vector: Sequence[float],
  candidate_ids: Collection[int],
  exclude_ids: Collection[int],
) -> dict[int, float]:
  """Cosine similarity of `vector` to the full-text candidates and the newest SCAN_LIMIT in scope."""
  scope = MessageEmbedding.objects.filter(
    message__customer_id=customer_id, message__chat_id=chat_id
  ).exclude(message_id__in=list(exclude_ids))
  newest = list(scope.order_by("-message_id").values_list("message_id", "vector")[:SCAN_LIMIT])
  seen = {pk for pk, _vector in newest}
  rest = [pk for pk in candidate_ids if pk not in seen]
  extra = (
    list(scope.filter(message_id__in=rest).values_list("message_id", "vector")) if rest else []
  )
  query = array("f", vector)
  return {pk: _dot(query, _unpack(blob)) for pk, blob in [*newest, *extra] if blob}


def combined_ranking(
  *, text_hits: dict[int, int], term_count: int, similarity: dict[int, float], limit: int
) -> list[int]:
  """Ids by TEXT_WEIGHT * (matched terms / query terms) + (1 - TEXT_WEIGHT) * cosine, newest first among equals."""
  scores = {
    pk: TEXT_WEIGHT * text_hits.get(pk, 0) / max(term_count, 1)
    + (1 - TEXT_WEIGHT) * max(similarity.get(pk, 0.0), 0.0)
    for pk in {*text_hits, *similarity}
  }
  return sorted(scores, key=lambda pk: (-scores[pk], -pk))[:limit]


def embeddings_backfill(
  *,
  using: str = "default",
  batch_size: int = 64,
  progress: Callable[[int, int], None] | None = None,
) -> int:
  """Embed every indexed message that has no embedding yet; returns how many were stored."""
  spec = _spec()
  # The messages the full-text index holds (search_schema.INDEXED_WHEN), not yet embedded.
  pending = (
    Message.objects.using(using)
    .filter(embedding__isnull=True, customer__isnull=False, kind="text")
    .exclude(role=Message.Role.SYSTEM)
    .order_by("id")
  )
  total, done, after = pending.count(), 0, 0
  while True:
    batch = list(pending.filter(id__gt=after).values_list("id", "text")[:batch_size])
    if not batch:
      return done
    vectors = _embed_now(spec, [text for _pk, text in batch])
    _store(spec, batch, vectors, using=using)
    done, after = done + len(batch), batch[-1][0]
    if progress is not None:
      progress(done, total)


def _store(spec, batch: list[tuple[int, str]], vectors: list[list[float]], *, using: str) -> None:
  rows = [
    MessageEmbedding(
      message_id=pk,
      model_name=spec.provider_model_name,
      dimensions=len(vector),
      vector=_pack(vector),
    )
    for (pk, _text), vector in zip(batch, vectors, strict=True)
  ]
  # ignore_conflicts: a message embedded meanwhile by another run keeps its row.
  MessageEmbedding.objects.using(using).bulk_create(rows, ignore_conflicts=True)


def _embed_now(spec, texts: Sequence[str]) -> list[list[float]]:
  """embed_texts from sync code: on a fresh event loop in a helper thread, so it also works
  when the calling thread already runs a loop."""
  with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed") as pool:
    return pool.submit(asyncio.run, embed_texts(spec, texts)).result()


def _unit(vector: Sequence[float]) -> list[float]:
  norm = math.sqrt(sum(value * value for value in vector)) or 1.0
  return [value / norm for value in vector]


def _pack(vector: Sequence[float]) -> bytes:
  return array("f", vector).tobytes()


def _unpack(blob: bytes | memoryview) -> array:
  values = array("f")
  values.frombytes(bytes(blob))
  return values


def _dot(first: array, second: array) -> float:
  if len(first) != len(second):
    return 0.0  # a vector from another embedding model: not comparable
  return sum(map(mul, first, second))


def query_vector_sync(query: str) -> list[float] | None:
  """`query_vector` for sync code outside the bot (admin preview); None when off or failing."""
  if not embeddings_enabled() or not query.strip():
    return None
  try:
    return _embed_now(_spec(), [query])[0]
  except Exception as error:  # the preview still shows the full-text part
    logger.warning("Query embedding failed: %s", error)
    return None
