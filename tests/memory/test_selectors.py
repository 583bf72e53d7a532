import datetime as dt

import pytest
from django.utils import timezone

from memory.models import Chat, Message
from memory.selectors import (
  MemoryContext,
  context_build,
  customer_questions_since,
  history_token_budget,
  message_list_recent,
  message_render,
)
from tests.factories import chat_factory, customer_factory, llm_model_factory, message_factory


@pytest.fixture(autouse=True)
def _short_term_only(settings):
  settings.MAX_CONTEXT_MESSAGES = 10
  settings.MAX_CONTEXT_LENGTH = 4000
  settings.LONG_TERM_MEMORY_ENABLED = False


def test_message_list_recent_returns_the_latest_messages_oldest_first(chat, say):
  stored = [say(f"m{n}") for n in range(5)]

  recent = message_list_recent(chat=chat, limit=3)

  assert [m.pk for m in recent] == [m.pk for m in stored[2:]]
  assert message_list_recent(chat=chat, limit=0) == []


def test_message_list_recent_keeps_to_the_chat(chat, say):
  say("mine")
  message_factory(text="another chat")

  assert [m.text for m in message_list_recent(chat=chat, limit=10)] == ["mine"]


def test_message_list_recent_in_a_forum_reads_one_topic(customer):
  forum = chat_factory(type=Chat.Type.SUPERGROUP, is_forum=True)
  message_factory(chat=forum, customer=customer, text="general")
  message_factory(chat=forum, customer=customer, text="topic 7", thread_id=7)
  message_factory(chat=forum, customer=customer, text="topic 8", thread_id=8)

  assert [m.text for m in message_list_recent(chat=forum, limit=10, thread_id=7)] == ["topic 7"]
  assert [m.text for m in message_list_recent(chat=forum, limit=10)] == ["general"]


def test_message_list_recent_outside_forums_filters_by_thread_only_when_asked(chat, say):
  say("plain")
  say("reply thread", thread_id=3)

  assert [m.text for m in message_list_recent(chat=chat, limit=10)] == ["plain", "reply thread"]
  assert [m.text for m in message_list_recent(chat=chat, limit=10, thread_id=3)] == ["reply thread"]


def test_context_keeps_the_newest_max_messages_oldest_first(customer, chat, say):
  # given
  for n in range(12):
    say(f"question {n}")
    say(f"answer {n}", role=Message.Role.ASSISTANT)

  # when
  context = context_build(customer=customer, chat=chat, query="", max_messages=4)

  # then
  assert context.history == [
    {"role": "user", "content": "question 10"},
    {"role": "assistant", "content": "answer 10"},
    {"role": "user", "content": "question 11"},
    {"role": "assistant", "content": "answer 11"},
  ]
  assert context.truncated is False


def test_context_uses_max_context_messages_by_default(customer, chat, say, settings):
  settings.MAX_CONTEXT_MESSAGES = 3
  for n in range(5):
    say(f"m{n}")

  context = context_build(customer=customer, chat=chat, query="")

  assert [item["content"] for item in context.history] == ["m2", "m3", "m4"]


def test_context_character_limit_is_exact(customer, chat, say):
  # given: four messages of 10 characters
  stored = [say(f"message {n}.") for n in range(4)]

  # when: room for exactly three of them
  exact = context_build(customer=customer, chat=chat, query="", max_chars=30)
  one_short = context_build(customer=customer, chat=chat, query="", max_chars=29)

  # then
  assert exact.history_ids == [m.pk for m in stored[1:]]
  assert exact.history_chars == 30
  assert one_short.history_ids == [m.pk for m in stored[2:]]
  assert one_short.history_chars == 20


def test_context_uses_max_context_length_by_default(customer, chat, say, settings):
  settings.MAX_CONTEXT_LENGTH = 25
  say("a" * 10)
  say("b" * 10)
  say("c" * 10)

  context = context_build(customer=customer, chat=chat, query="")

  assert [item["content"] for item in context.history] == ["b" * 10, "c" * 10]


def test_an_older_message_that_does_not_fit_ends_the_window(customer, chat, say):
  say("short")
  say("x" * 50)
  newest = say("newest")

  context = context_build(customer=customer, chat=chat, query="", max_chars=20)

  assert context.history_ids == [newest.pk]  # "short" would fit but would leave a gap


def test_a_newest_message_over_the_budget_is_cut_keeping_its_end(customer, chat, say):
  say("older")
  say("0123456789" * 3 + "THE END")

  context = context_build(customer=customer, chat=chat, query="", max_chars=12)

  assert context.history == [{"role": "user", "content": "…6789THE END"}]
  assert context.history_chars == 12
  assert context.truncated is True


def test_nothing_is_kept_when_the_budget_cannot_hold_even_an_ellipsis(customer, chat, say):
  say("hello there")

  assert context_build(customer=customer, chat=chat, query="", max_chars=1).history == []
  assert context_build(customer=customer, chat=chat, query="", max_chars=0).history == []
  assert context_build(customer=customer, chat=chat, query="", max_messages=0).history == []


def test_token_limit_is_exact(customer, chat, say):
  # given: 40 ASCII characters = 10 tokens + 4 per message
  stored = [say("a" * 40) for _ in range(3)]

  # when
  exact = context_build(customer=customer, chat=chat, query="", max_tokens=28)
  one_short = context_build(customer=customer, chat=chat, query="", max_tokens=27)

  # then
  assert exact.history_ids == [m.pk for m in stored[1:]]
  assert exact.tokens == 28
  assert one_short.history_ids == [stored[2].pk]


def test_a_newest_message_over_the_token_budget_is_cut_to_it(customer, chat, say):
  say("b" * 100)

  context = context_build(customer=customer, chat=chat, query="", max_tokens=9)

  # 9 - 4 overhead = 5 tokens: the ellipsis (<1 token) + 16 ASCII characters (4 tokens)
  assert context.history == [{"role": "user", "content": "…" + "b" * 16}]
  assert context.tokens <= 9
  assert context_build(customer=customer, chat=chat, query="", max_tokens=4).history == []


def test_token_budget_comes_from_the_model_context_window(customer, chat, say):
  # given: a tiny window; a quarter is kept for the answer, a quarter for the system prompt
  model = llm_model_factory(context_window=40)
  say("a" * 40)  # 14 tokens with overhead
  say("b" * 40)
  newest = say("c" * 40)

  # when
  context = context_build(customer=customer, chat=chat, query="", model=model)

  # then: 40 - 10 - 10 - 4 = 16 tokens of history: one message
  assert history_token_budget(model=model) == 16
  assert context.history_ids == [newest.pk]


def test_history_token_budget(db):
  no_window = llm_model_factory(context_window=None)
  with_limit = llm_model_factory(context_window=8000, params={"max_tokens": 1000})
  plain = llm_model_factory(context_window=8000)

  assert history_token_budget(model=None) is None
  assert history_token_budget(model=no_window) is None
  assert history_token_budget(model=with_limit, system_prompt="s" * 400) == 8000 - 1000 - 100 - 4
  assert history_token_budget(model=plain, completion_reserve=500) == 8000 - 500 - 2000 - 4
  assert history_token_budget(model=plain) == 8000 - 2000 - 2000 - 4
  assert history_token_budget(model=llm_model_factory(context_window=4), completion_reserve=9) == 0


def test_roles_map_to_user_and_assistant_and_system_messages_are_skipped(customer, chat, say):
  say("hi")
  say("service notice", role=Message.Role.SYSTEM)
  say("operator here", role=Message.Role.OPERATOR)
  say("bot here", role=Message.Role.ASSISTANT)

  context = context_build(customer=customer, chat=chat, query="", max_messages=3)

  assert context.history == [
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "operator here"},
    {"role": "assistant", "content": "bot here"},
  ]


def test_excluded_messages_are_left_out(customer, chat, say):
  first = say("first")
  current = say("the question being answered")

  context = context_build(customer=customer, chat=chat, query="", exclude_message_ids={current.pk})

  assert context.history_ids == [first.pk]


def test_messages_without_text_are_skipped(customer, chat, say):
  say("kept")
  say("", kind="photo")
  say("   ")

  assert [i["content"] for i in context_build(customer=customer, chat=chat, query="").history] == [
    "kept",
    "[sent a photo]",
  ]


@pytest.mark.parametrize(
  ("kind", "text", "rendered"),
  [
    ("text", "  hello  ", "hello"),
    ("contact", "+79123456789", "[shared a phone contact]"),
    ("button", "Web design", "[pressed the button: Web design]"),
    ("button", "", "[pressed a button]"),
    ("photo", "my room", "[sent a photo] my room"),
    ("sticker", "", "[sent a sticker]"),
  ],
)
def test_message_render(kind, text, rendered):
  assert message_render(Message(role=Message.Role.USER, kind=kind, text=text)) == rendered


def test_group_history_is_the_participants_thread_and_the_rest_is_shared(customer):
  # given: Anna and Bob talk to each other and to the bot
  group = chat_factory(type=Chat.Type.GROUP)
  bob = customer_factory(first_name="Bob")
  message_factory(chat=group, customer=customer, text="hi all", addressed=False)
  message_factory(chat=group, customer=customer, text="bot, prices?")
  message_factory(chat=group, customer=bob, text="hello Anna", addressed=False)
  message_factory(chat=group, customer=customer, role=Message.Role.ASSISTANT, text="From 100.")
  message_factory(chat=group, customer=bob, text="bot, delivery?")
  message_factory(chat=group, customer=bob, role=Message.Role.ASSISTANT, text="Yes, daily.")

  # when
  context = context_build(customer=customer, chat=group, query="")

  # then: Anna's own turns with the bot as history, the group's latest talk as shared lines
  assert context.history == [
    {"role": "user", "content": "Anna: bot, prices?"},
    {"role": "assistant", "content": "From 100."},
  ]
  assert context.shared == [
    "Anna: hi all",
    "Bob: hello Anna",
    "Bob: bot, delivery?",
    "assistant → Bob: Yes, daily.",
  ]


def test_context_history_query_count_does_not_depend_on_history_size(
  customer, chat, say, django_assert_num_queries
):
  for n in range(30):
    say(f"m{n}")

  with django_assert_num_queries(1):
    context_build(customer=customer, chat=chat, query="m1")


def test_memory_context_counts():
  context = MemoryContext(history=[{"role": "user", "content": "a" * 8}], background=["д" * 5])

  assert context.history_chars == 8
  assert context.background_chars == 5
  assert context.tokens == 2 + 4 + 2


def test_a_forums_general_topic_is_its_own_conversation(customer):
  # given: a forum with messages in its General topic (no thread id) and in topic 3
  forum = chat_factory(type=Chat.Type.SUPERGROUP, is_forum=True)
  message_factory(chat=forum, customer=customer, text="in general")
  message_factory(chat=forum, customer=customer, text="in topic 3", thread_id=3)

  # when
  general = context_build(customer=customer, chat=forum, query="", thread_id=None)
  topic = context_build(customer=customer, chat=forum, query="", thread_id=3)

  # then
  assert [m["content"] for m in general.history] == ["Anna: in general"]
  assert [m["content"] for m in topic.history] == ["Anna: in topic 3"]


def test_customer_questions_since_counts_addressed_messages_up_to_the_cap(customer, chat, say):
  # given: three questions now, one an hour ago, one not addressed, one answer, another person's
  for n in range(3):
    say(f"q{n}")
  old = say("old question")
  Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
  say("group talk", addressed=False)
  say("an answer", role=Message.Role.ASSISTANT)
  message_factory(chat=chat, customer=customer_factory(), text="someone else")
  since = timezone.now() - dt.timedelta(minutes=1)

  # when / then
  assert customer_questions_since(customer=customer, since=since, at_most=10) == 3
  assert customer_questions_since(customer=customer, since=since, at_most=2) == 2
  assert customer_questions_since(customer=customer, since=since, at_most=0) == 0


def test_the_history_read_is_served_by_the_chat_index_alone(customer, chat, say):
  """The order comes from the (chat, -created_at, -id) index: a big chat that has been quiet
  costs the same as any (the plan PostgreSQL chose for `chat_id = x` on the 1M-message bench
  database walked every newer message; see memory.selectors._chat_messages)."""
  from django.db import connection
  from django.test.utils import CaptureQueriesContext

  # given: the chat holds a fifth of all messages, spread over time, but has been quiet since
  # another chat wrote the newest thousands
  other = chat_factory()
  rows = [Message(chat=chat if n % 5 == 0 else other, role="user", text="m") for n in range(15000)]
  rows += [Message(chat=other, role="user", text="new") for _ in range(4000)]
  Message.objects.bulk_create(rows, batch_size=2000)
  with connection.cursor() as cursor:
    cursor.execute("ANALYZE memory_message")
  with CaptureQueriesContext(connection) as queries:
    context_build(customer=customer, chat=chat, query="")
  (sql,) = [q["sql"] for q in queries if "ORDER BY" in q["sql"]]

  # when: the database's plan for the history read
  with connection.cursor() as cursor:
    cursor.execute(
      f"EXPLAIN {sql}" if connection.vendor == "postgresql" else f"EXPLAIN QUERY PLAN {sql}"
    )
    plan = " ".join(str(row) for row in cursor.fetchall())

  # then: the (chat, -created_at, -id) index gives the order; nothing is sorted afterwards
  assert "message_chat_recent_idx" in plan, plan
  assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
