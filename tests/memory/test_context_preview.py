"""context_preview: what memory would add to an LLM call ("why did it answer that")."""

import pytest
from django.utils import timezone

from memory.models import Chat, Message
from memory.selectors import context_preview
from tests.factories import chat_factory, customer_factory, llm_model_factory, message_factory


@pytest.fixture(autouse=True)
def _memory_settings(settings):
  settings.MAX_CONTEXT_MESSAGES = 2
  settings.MAX_CONTEXT_LENGTH = 4000
  settings.LONG_TERM_MEMORY_ENABLED = True
  settings.MAX_LONG_TERM_RESULTS = 3
  settings.LONG_TERM_MEMORY_LENGTH = 2000
  settings.MEMORY_EMBEDDINGS_MODEL = ""


def test_preview_shows_history_background_counts_and_limits(customer, chat, say):
  # given
  llm_model_factory(is_default=True, context_window=8000, provider_model_name="fake/big")
  old = say("Сколько стоит доставка?")
  recent = [say("Спасибо"), say("Пожалуйста!", role=Message.Role.ASSISTANT)]

  # when
  preview = context_preview(customer=customer, query="доставкой")

  # then
  day = timezone.localdate().isoformat()
  assert list(preview) == [
    "chat",
    "history",
    "background",
    "background_prompt",
    "counts",
    "limits",
    "search",
    "message_ids",
  ]
  assert preview["chat"] == str(chat)
  assert preview["history"] == [
    {"role": "user", "content": "Спасибо"},
    {"role": "assistant", "content": "Пожалуйста!"},
  ]
  assert preview["background"] == [f"{day} customer: Сколько стоит доставка?"]
  assert preview["background_prompt"].endswith(f"<<< {day} customer: Сколько стоит доставка? >>>")
  assert preview["counts"] == {
    "history_messages": 2,
    "history_chars": 18,
    "background_snippets": 1,
    "background_chars": len(preview["background"][0]),
    "estimated_tokens": (3 + 4) + (5 + 4) + 14,  # two messages with overhead, one snippet
    "newest_message_cut": False,
  }
  assert preview["limits"] == {
    "max_context_messages": 2,
    "max_context_length": 4000,
    "token_budget": 8000 - 2000 - 2000 - 4,  # a quarter each for the answer and the prompt
    "model": "fake/big",
    "long_term_memory_enabled": True,
    "max_long_term_results": 3,
    "long_term_memory_length": 2000,
  }
  assert preview["search"] == {"terms": ["доставк"], "semantic": False}
  assert preview["message_ids"] == {"history": [m.pk for m in recent], "background": [old.pk]}


def test_preview_prefers_the_latest_private_chat(customer, chat, say):
  say("личное")
  group = chat_factory(type=Chat.Type.GROUP)
  message_factory(chat=group, customer=customer, text="в группе, позже")

  assert context_preview(customer=customer, query="x")["chat"] == str(chat)


def test_preview_falls_back_to_a_group_chat_or_nothing(customer):
  assert context_preview(customer=customer, query="x")["history"] == []
  assert context_preview(customer=customer, query="x")["chat"] == ""

  group = chat_factory(type=Chat.Type.GROUP, title="Team")
  message_factory(chat=group, customer=customer, text="в группе")

  preview = context_preview(customer=customer, query="x")
  assert preview["chat"] == "Team"
  assert preview["history"] == [{"role": "user", "content": "Anna: в группе"}]


def test_preview_for_an_explicit_chat_and_with_semantic_memory(customer, say, settings, fake_llm):
  llm_model_factory(provider_model_name="fake/embed", base_url=fake_llm.base_url, active=False)
  settings.MEMORY_EMBEDDINGS_MODEL = "fake/embed"
  other = chat_factory()
  message_factory(chat=other, customer=customer, text="там")

  preview = context_preview(customer=customer, query="доставка", chat=other)

  assert preview["history"] == [{"role": "user", "content": "там"}]
  assert preview["search"]["semantic"] is True
  assert preview["limits"]["token_budget"] is None


def test_preview_never_shows_another_customer(customer, chat, say):
  stranger = customer_factory()
  message_factory(chat=chat_factory(), customer=stranger, text="чужая доставка")

  preview = context_preview(customer=customer, query="доставка")

  assert preview["background"] == [] and preview["history"] == []
