"""How much database work a typical question costs (the bot's throughput depends on it).

A returning customer asks a question: the turn's ORM parts (`turn_begin`, `answer_finish`, the
sent reply's id) run here on the test's own connection, so every query is counted. Content,
prompts and models come from the process-wide caches (leads/cache.py), not from per-turn queries.
"""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assistant.conversation.answer import answer_finish
from assistant.engine import turn_begin
from leads import cache
from leads.models import Customer
from llm.client import Completion
from memory.services import message_set_external_id
from tests.assistant.engine_helpers import USER, make_turn

# Autocommit, as in the bot: a test transaction would add savepoints around the writes.
pytestmark = pytest.mark.django_db(transaction=True)

# chat, customer, inbound message, flood count, history, the answer (one statement that also
# checks the question wasn't erased meanwhile), the sent reply's id; a conversation longer than
# the short-term window adds the long-term search (PostgreSQL stems the terms in one more query)
QUERIES_PER_QUESTION = {"sqlite": 7, "postgresql": 7}
LONG_TERM_SEARCH = {"sqlite": 1, "postgresql": 2}
CACHED_TABLES = ("leads_faqentry", "leads_catalogservice", "leads_scenario", "llm_prompt", "llm_")
COMPLETION = Completion(
  text="A landing page costs from 45 000 RUB.",
  model_name="fake/default",
  prompt_tokens=100,
  completion_tokens=20,
  latency_ms=900,
  cost=Decimal("0"),
)


def _limit() -> int:
  return QUERIES_PER_QUESTION[connection.vendor]


def _question(text: str, external_id: int) -> list[str]:
  """The SQL of one question turn, from the inbound message to the sent reply's id."""
  with CaptureQueriesContext(connection) as queries:
    outcome = turn_begin(make_turn(text, language="ru", external_message_id=external_id))
    (reply,) = answer_finish(outcome.answer, COMPLETION)
    message_set_external_id(message_id=reply.message_id, external_message_id=external_id + 1)
  return [query["sql"] for query in queries.captured_queries]


@pytest.fixture
def returning_customer(default_content, llm_model):
  """A customer who gave consent and a phone, with one earlier question and answer."""
  Customer.objects.create(
    channel="telegram",
    external_id=USER,
    language="ru",
    first_name="Anna",
    consent=Customer.Consent.GIVEN,
    consent_at=timezone.now(),
    phone="+79123456789",
    last_seen_at=timezone.now(),
  )
  _question("Здравствуйте! Чем вы занимаетесь?", 100)


def test_a_question_costs_a_bounded_number_of_queries(returning_customer, settings, cache_clock):
  # given: production's reload interval; the content stamps were read a moment ago
  settings.CONTENT_RELOAD_SECONDS = 5
  cache.stamps()

  # when
  queries = _question("Сколько стоит лендинг?", 200)

  # then
  assert len(queries) == _limit(), "\n".join(queries)
  assert not [sql for sql in queries if any(table in sql for table in CACHED_TABLES)]


def test_a_long_conversation_adds_only_the_long_term_search(
  returning_customer, settings, cache_clock
):
  # given: more earlier messages than the short-term window holds
  settings.CONTENT_RELOAD_SECONDS = 5
  settings.MAX_CONTEXT_MESSAGES = 2
  _question("А доставка у вас есть?", 300)
  cache.stamps()

  # when
  queries = _question("Сколько стоит лендинг?", 400)

  # then
  assert len(queries) == _limit() + LONG_TERM_SEARCH[connection.vendor], "\n".join(queries)
  assert [sql for sql in queries if " MATCH " in sql or "@@" in sql]  # the full-text search ran


def test_a_question_a_second_later_reads_the_stamps_once(returning_customer, settings, cache_clock):
  # given
  settings.CONTENT_RELOAD_SECONDS = 5
  cache.stamps()
  cache_clock[0] += 1.0

  # when
  queries = _question("Сколько стоит лендинг?", 200)

  # then: one query for every cached table's change stamp; the rows still come from the caches
  stamps = [sql for sql in queries if "UNION ALL" in sql]
  assert len(stamps) == 1
  assert len(queries) <= _limit() + 1, "\n".join(queries)


def test_checking_on_every_read_adds_only_stamp_queries(returning_customer, settings):
  # given: CONTENT_RELOAD_SECONDS=0 (as in tests) reads the stamps on every cached read
  settings.CONTENT_RELOAD_SECONDS = 0

  # when
  queries = _question("Сколько стоит лендинг?", 200)

  # then
  others = [sql for sql in queries if "UNION ALL" not in sql]
  assert len(others) <= _limit(), "\n".join(others)
  assert not [sql for sql in others if any(table in sql for table in CACHED_TABLES)]
