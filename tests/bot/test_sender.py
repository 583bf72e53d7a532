import asyncio

import pytest
from telegram import Bot, InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import BadRequest

from assistant.types import Button, ChatRef, Reply, Sender, Turn
from bot.sender import ReplySender, StreamEditor, reply_markups, split_text, typing, utf16_len


def turn(chat_id: int = 5, chat_type: str = "private", thread_id: int | None = None) -> Turn:
  return Turn(
    channel="telegram",
    sender=Sender(external_id="5"),
    chat=ChatRef(external_id=str(chat_id), type=chat_type, thread_id=thread_id),
    external_message_id=77,
  )


@pytest.fixture
async def bot(telegram):
  async with Bot(telegram.token, base_url=telegram.base_url) as bot:
    yield bot


# --- split_text ----------------------------------------------------------------------------------
def test_short_text_is_one_piece():
  assert split_text("  Hello.  ") == ["Hello."]


def test_empty_text_gives_no_piece():
  assert split_text(" \n ") == []


def test_long_text_is_cut_at_paragraphs():
  # given
  paragraphs = [f"Paragraph {n}. " + "word " * 150 for n in range(20)]
  text = "\n\n".join(p.strip() for p in paragraphs)

  # when
  pieces = split_text(text)

  # then
  assert len(pieces) == 4
  assert all(len(p) <= 4096 for p in pieces)
  assert all(p.endswith("word") for p in pieces)
  assert "\n\n".join(pieces) == text


def test_text_without_paragraphs_is_cut_at_sentences():
  text = " ".join(f"Sentence number {n} is here." for n in range(400))

  pieces = split_text(text, limit=1000)

  assert all(p.endswith("here.") for p in pieces)
  assert " ".join(pieces) == text
  assert max(len(p) for p in pieces) <= 1000


def test_text_without_sentences_is_cut_at_words_then_hard():
  words = "abc " * 300
  assert all(len(p) <= 100 for p in split_text(words, limit=100))
  assert split_text("x" * 250, limit=100) == ["x" * 100, "x" * 100, "x" * 50]


def test_limit_counts_utf16_units_like_telegram():
  text = "😀" * 3000  # 2 units each

  pieces = split_text(text)

  assert [utf16_len(p) for p in pieces] == [4096, 1904]


# --- markups -------------------------------------------------------------------------------------
def test_contact_keyboard_on_first_piece_and_buttons_on_last():
  reply = Reply(text="t", buttons=[[Button("👍", "fb:up:1")]], request_contact="📱 Share")

  first, middle, last = reply_markups(reply, 3)

  assert isinstance(first, ReplyKeyboardMarkup)
  assert first.keyboard[0][0].request_contact is True
  assert first.keyboard[0][0].text == "📱 Share"
  assert middle is None
  assert last.inline_keyboard[0][0].callback_data == "fb:up:1"


def test_remove_keyboard_and_url_buttons():
  reply = Reply(
    text="t", buttons=[[Button("Site", url="https://example.com")]], remove_keyboard=True
  )

  first, last = reply_markups(reply, 2)

  assert isinstance(first, ReplyKeyboardRemove)
  assert last.inline_keyboard[0][0].url == "https://example.com"


def test_inline_buttons_win_over_a_reply_keyboard_on_one_piece(caplog):
  reply = Reply(text="t", buttons=[[Button("A", "a")]], request_contact="Share")

  (markup,) = reply_markups(reply, 1)

  assert isinstance(markup, InlineKeyboardMarkup)
  assert "buttons win" in caplog.text


# --- sending -------------------------------------------------------------------------------------
async def test_group_reply_quotes_the_question_once_and_stays_in_topic(telegram, bot):
  sender = ReplySender(bot, turn(chat_id=-100, chat_type="supergroup", thread_id=9))

  await sender.send(Reply(text="A" * 5000))

  first, second = telegram.calls("sendMessage")
  assert first["params"]["reply_parameters"]["message_id"] == 77
  assert "reply_parameters" not in second["params"]
  assert first["params"]["message_thread_id"] == second["params"]["message_thread_id"] == 9


async def test_empty_reply_sends_nothing(telegram, bot, caplog):
  assert await ReplySender(bot, turn()).send(Reply(text=" ")) is None
  assert telegram.calls("sendMessage") == []
  assert "empty reply" in caplog.text


async def test_edit_tolerates_not_modified_but_not_other_errors(telegram, bot):
  sender = ReplySender(bot, turn())
  message = await sender.send_text("same")

  await sender.edit_text(message.message_id, "same", None)  # 400 not modified: fine
  with pytest.raises(BadRequest, match="not found"):
    await sender.edit_text(999, "other", None)


# --- streaming -----------------------------------------------------------------------------------
async def test_stream_sends_once_then_throttles_edits_and_finishes_with_buttons(telegram, bot):
  # given
  editor = StreamEditor(ReplySender(bot, turn()), interval=0.2)

  # when: five chunks within well under one interval after the first
  for text in ["Hel", "Hello", "Hello, w", "Hello, wor", "Hello, world"]:
    await editor(text)
  await asyncio.sleep(0.35)  # the delayed edit shows the latest text
  last = await editor.finish(Reply(text="Hello, world!", buttons=[[Button("👍", "fb:up:1")]]))

  # then
  assert [c["params"]["text"] for c in telegram.calls("sendMessage")] == ["Hel"]
  edits = [c["params"]["text"] for c in telegram.calls("editMessageText")]
  assert edits == ["Hello, world", "Hello, world!"]
  assert telegram.sent()[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "👍"
  assert last.message_id == telegram.sent()[0]["message_id"]


async def test_stream_finish_without_stream_sends_normally(telegram, bot):
  editor = StreamEditor(ReplySender(bot, turn()), interval=0.1)

  await editor.finish(Reply(text="Plain"))

  assert telegram.texts() == ["Plain"]


async def test_stream_finish_splits_a_long_final_text(telegram, bot):
  # given
  editor = StreamEditor(ReplySender(bot, turn()), interval=10)
  await editor("x " * 3000)  # the preview is cut to the limit
  final = ("Word " * 700).strip() + "\n\n" + ("Tail " * 200).strip()

  # when
  last = await editor.finish(Reply(text=final, buttons=[[Button("👍", "fb:up:1")]]))

  # then
  first, second = telegram.sent()
  assert first["text"] == ("Word " * 700).strip()
  assert "reply_markup" not in first
  assert second["text"] == ("Tail " * 200).strip()
  assert second["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "fb:up:1"
  assert last.message_id == second["message_id"]


async def test_stream_preview_over_the_limit_is_cut(telegram, bot):
  editor = StreamEditor(ReplySender(bot, turn()), interval=10)

  await editor("y" * 5000)

  assert telegram.texts() == ["y" * 4095 + "…"]


async def test_lost_preview_edit_is_harmless(telegram, bot):
  # given
  editor = StreamEditor(ReplySender(bot, turn()), interval=0.01)
  await editor("one")
  telegram.fail("editMessageText", status=500)

  # when
  await editor("one two")
  await asyncio.sleep(0.1)
  await editor.finish(Reply(text="one two three"))

  # then
  assert telegram.texts() == ["one two three"]


# --- typing --------------------------------------------------------------------------------------
async def test_typing_repeats_until_the_work_is_done(telegram, bot, settings):
  settings.TELEGRAM_TYPING_INTERVAL = 0.05

  async with typing(bot, turn(thread_id=3)):
    await asyncio.sleep(0.28)
  count = len(telegram.calls("sendChatAction"))
  await asyncio.sleep(0.15)

  assert 3 <= count <= 7
  assert len(telegram.calls("sendChatAction")) == count  # stopped
  assert telegram.calls("sendChatAction")[0]["params"] == {
    "chat_id": 5,
    "action": "typing",
    "message_thread_id": 3,
  }


async def test_typing_stops_when_the_chat_refuses_and_retries_on_server_errors(
  telegram, bot, settings
):
  settings.TELEGRAM_TYPING_INTERVAL = 0.02
  telegram.fail("sendChatAction", status=500)
  telegram.fail("sendChatAction", status=400, description="Bad Request: chat not found")

  async with typing(bot, turn()):
    await asyncio.sleep(0.2)

  assert len(telegram.calls("sendChatAction")) == 2
