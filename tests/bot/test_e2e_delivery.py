"""End to end: how replies reach Telegram (limits, long texts, streaming, typing, order, stop)."""

import logging
import time

import pytest

from assistant.db import run_db
from memory.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

USER = 777


async def test_telegram_429_is_retried_after_retry_after(telegram, run_bot, llm_model):
  # given
  telegram.fail("sendMessage", status=429, retry_after=1)

  # when
  async with run_bot():
    telegram.push_update(telegram.updates.text("/help", user_id=USER))
    (reply,) = await telegram.wait_sent(1, chat_id=USER, within=5)

  # then: refused once, sent again after the second Telegram asked for
  refused, accepted = telegram.calls("sendMessage")
  assert accepted["time"] - refused["time"] >= 1.0
  assert refused["params"]["text"] == accepted["params"]["text"] == reply["text"]


async def test_long_answer_is_split_with_buttons_on_the_last_piece(
  telegram, run_bot, fake_llm, llm_model, settings
):
  # given: an answer of about 7,000 characters in paragraphs
  settings.TELEGRAM_STREAMING = False
  paragraphs = [f"Point {n}. " + "detail " * 60 for n in range(16)]
  fake_llm.enqueue(text="\n\n".join(p.strip() for p in paragraphs))

  # when
  async with run_bot():
    telegram.push_update(telegram.updates.text("Tell me everything", user_id=USER))
    first, second = await telegram.wait_sent(2, chat_id=USER)
    await telegram.wait_calls("getUpdates", 3)

  # then
  assert len(first["text"]) <= 4096 and len(second["text"]) <= 4096
  assert first["text"].startswith("Point 0.") and second["text"].endswith("detail")
  assert "reply_markup" not in first
  assert [b["text"] for b in second["reply_markup"]["inline_keyboard"][0]] == ["👍", "👎"]
  assert len(telegram.sent(USER)) == 2


async def test_streaming_answer_is_edited_as_tokens_arrive(
  telegram, run_bot, fake_llm, llm_model, settings
):
  # given: six chunks 60 ms apart, edits allowed every 50 ms
  settings.TELEGRAM_STREAM_EDIT_INTERVAL = 0.05
  chunks = ["Our ", "prices ", "start ", "at ", "100 ", "euros."]
  fake_llm.enqueue(stream_chunks=chunks, chunk_delay=0.06)

  # when
  async with run_bot():
    telegram.push_update(telegram.updates.text("Prices?", user_id=USER))
    await telegram.wait_for(lambda: telegram.calls("editMessageText", USER)[-1:], 1)
    await telegram.wait_for(
      lambda: [
        e for e in telegram.calls("editMessageText", USER) if e["params"].get("reply_markup")
      ],
      1,
    )

  # then: the answer's message was sent with the first chunk, then edited several times; the last
  # edit has the full text and 👍/👎 (the engine may add a follow-up message after it)
  message = telegram.sent(USER)[0]
  assert telegram.calls("sendMessage", chat_id=USER)[0]["params"]["text"] == "Our"
  assert [b["text"] for b in message["reply_markup"]["inline_keyboard"][0]] == ["👍", "👎"]
  edits = telegram.calls("editMessageText", chat_id=USER)
  assert 2 <= len(edits) <= 6
  assert edits[-1]["params"]["text"] == "Our prices start at 100 euros."
  assert message["text"] == "Our prices start at 100 euros."
  stored = await run_db(Message.objects.filter(role=Message.Role.ASSISTANT).earliest, "id")
  assert stored.external_message_id == message["message_id"]


async def test_streaming_edits_are_throttled(telegram, run_bot, fake_llm, llm_model, settings):
  # given: 20 chunks 10 ms apart (0.2 s), at most one edit per 0.1 s
  settings.TELEGRAM_STREAM_EDIT_INTERVAL = 0.1
  fake_llm.enqueue(stream_chunks=[f"w{n} " for n in range(20)], chunk_delay=0.01)

  async with run_bot():
    telegram.push_update(telegram.updates.text("Go", user_id=USER))
    await telegram.wait_for(lambda: [m for m in telegram.sent(USER) if m.get("reply_markup")], 1)

  edits = telegram.calls("editMessageText", chat_id=USER)
  assert 1 <= len(edits) <= 5  # unthrottled it would be 20
  gaps = [b["time"] - a["time"] for a, b in zip(edits, edits[1:-1], strict=False)]
  assert all(gap >= 0.09 for gap in gaps)


async def test_typing_is_shown_while_the_llm_works(
  telegram, run_bot, fake_llm, llm_model, settings
):
  settings.TELEGRAM_TYPING_INTERVAL = 0.1
  fake_llm.enqueue(text="Done.", delay=0.45)

  async with run_bot():
    telegram.push_update(telegram.updates.text("Slow question", user_id=USER))
    await telegram.wait_sent(1, chat_id=USER)

  actions = telegram.calls("sendChatAction", chat_id=USER)
  assert len(actions) >= 3
  assert actions[0]["time"] < telegram.calls("sendMessage")[0]["time"]
  assert {a["params"]["action"] for a in actions} == {"typing"}


async def test_chats_are_answered_concurrently_and_each_in_order(
  telegram, run_bot, fake_llm, llm_model, settings
):
  # given: 50 chats x 3 messages, interleaved; the LLM takes 0.3 s per answer
  settings.TELEGRAM_STREAMING = False
  for _ in range(150):
    fake_llm.enqueue(text="ok", delay=0.3)
  chats = range(9001, 9051)

  # when
  async with run_bot():
    started = time.monotonic()
    for n in range(3):
      for chat in chats:
        telegram.push_update(telegram.updates.text(f"chat {chat} message {n}", user_id=chat))
    await telegram.wait_sent(150, within=60)
    elapsed = time.monotonic() - started

  # then: far below the 45 s that one-at-a-time would take
  assert elapsed < 25
  # each chat's questions reached the LLM in order, each after the previous answer was stored
  for chat in chats:
    asked = [
      r["json"]["messages"]
      for r in fake_llm.chat_requests
      if r["json"]["messages"][-1]["content"].startswith(f"chat {chat} ")
    ]
    assert [m[-1]["content"] for m in asked] == [f"chat {chat} message {n}" for n in range(3)]
    assert [m["content"] for m in asked[2][-5:]] == [
      f"chat {chat} message 0",
      "ok",
      f"chat {chat} message 1",
      "ok",
      f"chat {chat} message 2",
    ]


async def test_stop_finishes_replies_in_progress(telegram, run_bot, fake_llm, llm_model):
  # given: a slow answer is being prepared
  fake_llm.enqueue(text="Worth the wait.", delay=0.4)
  async with run_bot():
    telegram.push_update(telegram.updates.text("Question", user_id=USER))
    await telegram.wait_for(lambda: fake_llm.chat_requests, 1)
    # when: the bot is stopped (leaving the block) while the LLM works

  # then
  assert telegram.texts(USER)[-1] == "Worth the wait."


async def test_blocked_by_the_user_is_logged_not_crashed(telegram, run_bot, llm_model, caplog):
  telegram.fail("sendMessage", status=403, description="Forbidden: bot was blocked by the user")

  async with run_bot():
    telegram.push_update(telegram.updates.text("/help", user_id=USER))
    await telegram.wait_calls("sendMessage", 1)
    telegram.push_update(telegram.updates.text("/help", user_id=USER))
    await telegram.wait_sent(1, chat_id=USER)

  assert f"Cannot write to chat {USER}: Forbidden: bot was blocked by the user" in caplog.text
  assert "Error handling update" not in caplog.text


async def test_the_token_never_reaches_the_logs(telegram, run_bot, fake_llm, llm_model, caplog):
  caplog.set_level(logging.DEBUG)

  async with run_bot():
    telegram.push_update(telegram.updates.text("Hi", user_id=USER))
    await telegram.wait_sent(1, chat_id=USER)

  assert caplog.records
  assert all(telegram.token not in record.getMessage() for record in caplog.records)
  assert all(telegram.token.split(":")[1] not in record.getMessage() for record in caplog.records)


async def test_stream_broken_midway_is_replaced_by_the_fallback(
  telegram, run_bot, fake_llm, llm_model
):
  # given: every attempt streams a first chunk, then garbage
  chunk = (
    'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    '"choices":[{"index":0,"delta":{"role":"assistant","content":"Partial "},'
    '"finish_reason":null}]}\n\n'
  )
  for _ in range(6):
    fake_llm.enqueue(raw_body=chunk + "data: {broken\n\n")

  # when
  async with run_bot():
    telegram.push_update(telegram.updates.text("Question", user_id=USER))
    await telegram.wait_calls("editMessageText", 1, chat_id=USER)
    await telegram.wait_calls("getUpdates", 3)

  # then: the preview became the fallback answer; no half answer is left in the chat
  stored = await run_db(
    lambda: list(Message.objects.filter(role=Message.Role.ASSISTANT).order_by("id"))
  )
  assert stored[0].is_fallback is True
  assert telegram.texts(USER)[0] == stored[0].text
  assert "Partial" not in " ".join(telegram.texts(USER))
