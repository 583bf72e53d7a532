"""Process-wide caches of content rows: change stamps, their reuse window, rebuilds."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from leads import cache
from leads.cache import Cached, stamp_max_age, stamps, stamps_fresh, stamps_reset
from leads.models import FAQEntry
from llm.models import Prompt
from tests.factories import faq_factory, llm_model_factory

# Autocommit, as in the bot: stamps read inside a transaction are never reused.
pytestmark = pytest.mark.django_db(transaction=True)


def test_stamps_cover_every_cached_table_in_one_query(django_assert_num_queries):
  # given
  faq_factory(key="a")
  faq_factory(key="b", active=False)
  llm_model_factory(provider_model_name="m/1")

  # when
  with django_assert_num_queries(1):
    found = stamps()

  # then: (rows, active rows, latest change) per table
  assert set(found) == {"faq", "catalog", "scenario", "prompt", "prompt_version", "llm_model"}
  assert found["faq"][:2] == (2, 1)
  assert found["llm_model"][:2] == (1, 1)
  assert found["catalog"][:2] == (0, 0)
  assert found["catalog"][2] is None
  assert found["prompt_version"][1] == 0  # no `active` column: counted as 0


def test_stamps_move_on_add_save_delete_and_bulk_deactivation():
  entry = faq_factory(key="a")
  seen = [stamps()["faq"]]

  faq_factory(key="b")
  seen.append(stamps()["faq"])
  entry.question = "Changed?"
  entry.save()
  seen.append(stamps()["faq"])
  FAQEntry.objects.filter(key="b").update(active=False)  # updated_at stays: the active count moves
  seen.append(stamps()["faq"])
  entry.delete()
  seen.append(stamps()["faq"])

  assert len(set(seen)) == 5


def test_stamps_are_reused_for_at_most_a_second(settings, cache_clock):
  # given: production's reload interval
  settings.CONTENT_RELOAD_SECONDS = 5
  first = stamps()
  faq_factory(key="new")

  # when / then: within the second the stamps are reused, then read again
  with CaptureQueriesContext(connection) as queries:
    cache_clock[0] += 0.99
    assert stamps() is first
    assert stamps_fresh()
    cache_clock[0] += 0.01
    assert stamps()["faq"] != first["faq"]
  assert len(queries) == 1


def test_a_shorter_reload_interval_shortens_the_reuse(settings):
  settings.CONTENT_RELOAD_SECONDS = 5
  assert stamp_max_age() == 1.0
  settings.CONTENT_RELOAD_SECONDS = 0
  assert stamp_max_age() == 0.0
  stamps()
  assert not stamps_fresh()  # 0: every call asks the database


def test_a_read_from_the_future_is_not_fresh(settings, cache_clock):
  # a frozen clock (tests) must not leave stamps that look fresh forever
  settings.CONTENT_RELOAD_SECONDS = 5
  stamps()
  cache_clock[0] -= 10

  assert not stamps_fresh()


def test_stamps_reset_makes_the_next_read_ask_again(settings, cache_clock):
  settings.CONTENT_RELOAD_SECONDS = 5
  stamps()
  assert stamps_fresh()

  stamps_reset()

  assert not stamps_fresh()


def test_stamps_reset_in_a_transaction_forgets_again_after_the_commit(settings, cache_clock):
  # given: the stamps were read
  settings.CONTENT_RELOAD_SECONDS = 5
  stamps()

  # when: a transaction writes and resets them; meanwhile another thread reads (and keeps) them
  with transaction.atomic():
    faq_factory(key="a")
    stamps_reset()
    assert not stamps_fresh()
    cache._stamps_at = cache_clock[0]  # what another thread's read of the old rows would leave
    assert stamps_fresh()

  # then: the commit forgets that read
  assert not stamps_fresh()
  assert stamps()["faq"][0] == 1


def test_stamps_read_inside_a_transaction_are_not_shared(settings, cache_clock):
  # given: the stamps were read outside any transaction
  settings.CONTENT_RELOAD_SECONDS = 5
  before = stamps()

  # when: a transaction that will be rolled back writes and reads (the admin's prompt preview)
  with transaction.atomic():
    faq_factory(key="draft")
    assert stamps()["faq"][0] == before["faq"][0] + 1
    transaction.set_rollback(True)

  # then: other readers keep the stamps of committed rows
  assert stamps() is before


def test_a_rolled_back_draft_is_never_served(settings, cache_clock):
  # given: the FAQ was read
  from leads.selectors import faq_search

  settings.CONTENT_RELOAD_SECONDS = 5
  faq_factory(key="price", question="Сколько стоит сайт?")
  assert [e.key for e, _s in faq_search(query="доставка", language="ru")] == []

  # when: a draft entry is searched inside a transaction that is rolled back
  with transaction.atomic():
    faq_factory(key="draft", question="Есть ли доставка?")
    assert [e.key for e, _s in faq_search(query="доставка", language="ru")] == ["draft"]
    transaction.set_rollback(True)

  # then
  assert [e.key for e, _s in faq_search(query="доставка", language="ru")] == []


def test_cached_value_is_built_once_per_stamp(settings, cache_clock):
  # given
  settings.CONTENT_RELOAD_SECONDS = 5
  builds = []
  faqs = Cached("faq", build=lambda: builds.append(1) or len(builds))

  # when / then
  assert faqs.get() == 1
  assert faqs.get() == 1
  assert faqs.peek() == 1
  faq_factory(key="a")
  cache_clock[0] += 1
  assert faqs.peek() is None  # the stamps are a second old: unknown without asking
  assert faqs.get() == 2
  assert len(builds) == 2


def test_cached_value_follows_only_its_own_tables(settings):
  # given
  settings.CONTENT_RELOAD_SECONDS = 0
  builds = []
  prompts = Cached("prompt", build=lambda: builds.append(1) or len(builds))
  prompts.get()

  # when: another table changes, then its own
  faq_factory(key="a")
  prompts.get()
  Prompt.objects.create(key="greeting", language="en", text="Hi")

  # then
  assert prompts.get() == 2


def test_peek_is_none_when_a_table_moved_since_the_value_was_built(settings, cache_clock):
  settings.CONTENT_RELOAD_SECONDS = 5
  faqs = Cached("faq", build=lambda: "rows")
  assert faqs.peek() is None  # never built
  faqs.get()
  faq_factory(key="a")
  stamps_reset()
  stamps()  # another reader saw the change first

  assert faqs.peek() is None


def test_reset_forgets_the_value():
  builds = []
  faqs = Cached("faq", build=lambda: builds.append(1) or len(builds))
  faqs.get()

  faqs.reset()

  assert faqs.get() == 2


def test_unknown_tables_are_refused():
  with pytest.raises(ValueError, match="Not a cached table: leads"):
    Cached("faq", "leads", build=dict)
