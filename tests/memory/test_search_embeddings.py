"""Optional semantic memory against the fake OpenAI server's /v1/embeddings."""

import logging

import pytest

from memory.models import Message, MessageEmbedding
from memory.search import message_search
from memory.search_embeddings import (
  combined_ranking,
  embeddings_backfill,
  query_vector,
  query_vector_sync,
)
from tests.factories import llm_model_factory
from tests.fakes.openai_server import EMBEDDING_DIM, embed


@pytest.fixture
def embeddings(db, settings, fake_llm):
  """An inactive registry row for the fake server's embeddings, named in the setting."""
  llm_model_factory(
    provider_model_name="fake/embed", base_url=fake_llm.base_url, model="embed-1", active=False
  )
  settings.MEMORY_EMBEDDINGS_MODEL = "fake/embed"
  return fake_llm


def _texts(messages) -> list[str]:
  return [message.text for message in messages]


def test_backfill_embeds_every_remembered_message_once(embeddings, say):
  # given
  first, second = say("доставка для нас"), say("ответ", role=Message.Role.ASSISTANT)
  say("служебное", role=Message.Role.SYSTEM)
  say("+79990001122", kind="contact")
  calls = []

  # when
  stored = embeddings_backfill(
    batch_size=1, progress=lambda done, total: calls.append((done, total))
  )

  # then
  assert stored == 2
  assert calls == [(1, 2), (2, 2)]
  rows = {row.message_id: row for row in MessageEmbedding.objects.all()}
  assert sorted(rows) == [first.pk, second.pk]
  assert rows[first.pk].model_name == "fake/embed"
  assert rows[first.pk].dimensions == EMBEDDING_DIM
  request = embeddings.requests_to("/embeddings")[0]["json"]
  assert request == {"model": "embed-1", "input": ["доставка для нас"], "encoding_format": "float"}
  assert embeddings_backfill() == 0


def test_editing_the_text_drops_the_stale_embedding_and_deleting_the_message_drops_it(
  embeddings, say
):
  edited, deleted, kept = say("старый текст"), say("удалю"), say("оставлю")
  embeddings_backfill()

  Message.objects.filter(pk=edited.pk).update(text="новый текст")
  Message.objects.filter(pk=kept.pk).update(external_message_id=5)  # not a text change
  deleted.delete()

  assert list(MessageEmbedding.objects.values_list("message_id", flat=True)) == [kept.pk]


def test_meaning_reorders_equal_full_text_matches(embeddings, customer, chat, say):
  # given: both share one index term ("для", "нас" are stop words) with the query
  similar = say("доставка для нас")
  newer = say("доставка завтра утром")
  embeddings_backfill()
  query = "доставка для нас"

  # when
  plain = message_search(customer=customer, chat=chat, query=query, limit=2)
  semantic = message_search(
    customer=customer, chat=chat, query=query, limit=2, query_vector=query_vector_sync(query)
  )

  # then
  assert _texts(plain) == [newer.text, similar.text]
  assert _texts(semantic) == [similar.text, newer.text]


def test_meaning_finds_a_message_without_index_terms(embeddings, customer, chat, say):
  say("для нас")
  say("доставка")
  embeddings_backfill()

  found = message_search(
    customer=customer, chat=chat, query="для нас", limit=3, query_vector=embed("для нас")
  )

  assert _texts(found)[0] == "для нас"


def test_semantic_scores_skip_vectors_of_another_size(embeddings, customer, chat, say):
  say("доставка")
  embeddings_backfill()

  found = message_search(
    customer=customer, chat=chat, query="доставка", limit=3, query_vector=[1.0, 0.0]
  )

  assert _texts(found) == ["доставка"]  # the full-text part alone


def test_older_full_text_candidates_are_scored_too(embeddings, customer, chat, say, monkeypatch):
  monkeypatch.setattr("memory.search_embeddings.SCAN_LIMIT", 1)
  old = say("доставка для нас")
  say("прочее")
  embeddings_backfill()

  found = message_search(
    customer=customer, chat=chat, query="доставка", limit=1, query_vector=embed("для нас доставка")
  )

  assert _texts(found) == [old.text]


def test_combined_ranking():
  ranking = combined_ranking(
    text_hits={1: 2, 2: 1, 3: 1}, term_count=2, similarity={2: 0.9, 3: -0.5, 4: 0.4}, limit=3
  )

  # 1: 0.5, 2: 0.25 + 0.45 = 0.7, 3: 0.25 (negative cosine counts as 0), 4: 0.2
  assert ranking == [2, 1, 3]


def test_query_vector_sync_is_none_when_off_or_failing(embeddings, settings, caplog):
  assert len(query_vector_sync("доставка")) == EMBEDDING_DIM
  assert query_vector_sync("  ") is None

  embeddings.enqueue_embeddings(status=500)
  with caplog.at_level(logging.WARNING, logger="memory.search_embeddings"):
    assert query_vector_sync("доставка") is None
  assert "Query embedding failed" in caplog.text

  settings.MEMORY_EMBEDDINGS_MODEL = "no/such-model"
  assert query_vector_sync("доставка") is None
  settings.MEMORY_EMBEDDINGS_MODEL = ""
  assert query_vector_sync("доставка") is None


@pytest.mark.django_db(transaction=True)
async def test_query_vector_for_the_bot(embeddings, caplog):
  vector = await query_vector("Доставка")

  assert vector == pytest.approx(embed("Доставка"), abs=1e-6)
  assert await query_vector("") is None
  embeddings.enqueue_embeddings(status=429)
  with caplog.at_level(logging.WARNING, logger="memory.search_embeddings"):
    assert await query_vector("доставка") is None
  assert "using full-text memory only" in caplog.text


def test_str():
  row = MessageEmbedding(message_id=7, model_name="fake/embed", dimensions=64)

  assert str(row) == "fake/embed × 64 for message 7"
