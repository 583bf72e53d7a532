"""Bad and unusual input: duplicates, media, empty/long/control texts, floods, groups."""

import asyncio

import pytest

from assistant.engine import reply_sent
from assistant.types import ChatRef, TurnKind
from memory.models import Chat, Message
from tests.assistant.engine_helpers import USER, customer, make_turn, run, say, transcript

pytestmark = pytest.mark.django_db(transaction=True)

SORRY_MEDIA = (
  "Sorry, I can only read text messages (and a phone shared with the button). "
  "Please write your question in words."
)


def test_duplicate_update_is_answered_once(fake_llm, llm_model):
  # given
  turn = make_turn("Hello", update_id=77, external_message_id=5)

  # when
  first = run(turn)
  second = run(turn)

  # then
  assert [r.text for r in first] == ["Fake answer."]
  assert second == []
  assert len(fake_llm.chat_requests) == 1
  assert Message.objects.filter(role="user").count() == 1


def test_same_message_redelivered_in_another_update_is_answered_once(fake_llm, llm_model):
  run(make_turn("Hello", update_id=1, external_message_id=5))

  assert run(make_turn("Hello", update_id=2, external_message_id=5)) == []
  assert len(fake_llm.chat_requests) == 1


def test_duplicates_arriving_at_once_are_answered_once(fake_llm, llm_model):
  turn = make_turn("Hello", update_id=91, external_message_id=9)

  async def both():
    from assistant.engine import handle_turn

    return await asyncio.gather(handle_turn(turn), handle_turn(turn))

  results = asyncio.run(both())

  assert sorted(len(replies) for replies in results) == [0, 1]
  assert Message.objects.filter(role="user").count() == 1


def test_two_button_presses_on_one_message_are_both_handled():
  first = run(make_turn(kind=TurnKind.BUTTON, callback_data="lang:en", external_message_id=3))
  second = run(make_turn(kind=TurnKind.BUTTON, callback_data="lang:ru", external_message_id=3))

  assert first and second
  assert customer().language == "ru"


@pytest.mark.parametrize("media", ["sticker", "photo", "voice", "document", "location"])
def test_unsupported_media_gets_a_polite_reply_and_is_stored(media):
  replies = run(make_turn(kind=TurnKind.UNSUPPORTED, media_type=media, text="caption\x00"))

  assert [r.text for r in replies] == [SORRY_MEDIA]
  stored = Message.objects.get(role="user")
  assert (stored.kind, stored.text) == (media, "caption")


def test_unsupported_without_a_media_type():
  run(make_turn(kind=TurnKind.UNSUPPORTED))

  assert Message.objects.get(role="user").kind == "unsupported"


@pytest.mark.parametrize("text", ["", "   ", "\x00\x07", "\n\t"])
def test_empty_text_is_answered_politely(text):
  replies = say(text)

  assert [r.text for r in replies] == [
    "Your message is empty. Please write your question in words."
  ]


def test_long_text_is_stored_in_full_and_asked_to_be_shortened(fake_llm, llm_model):
  # given
  text = "word " * 2000

  # when
  replies = say(text)

  # then
  assert replies[0].text == (
    "Your message is too long (9999 characters). Please shorten it to 4000 characters "
    "or split it into several messages."
  )
  assert Message.objects.get(role="user").text == text.strip()
  assert fake_llm.chat_requests == []


def test_input_limit_is_a_setting(settings):
  settings.MAX_INPUT_CHARS = 100

  replies = say("x" * 101)

  assert "(101 characters)" in replies[0].text


def test_control_characters_are_stripped_before_storing_and_asking(fake_llm, llm_model):
  say("Hel\x00lo\x1b[31m\r\nworld\x7f\u200b")

  assert Message.objects.get(role="user").text == "Hello[31m\nworld\u200b"
  assert fake_llm.chat_requests[0]["json"]["messages"][-1]["content"] == "Hello[31m\nworld\u200b"


def test_flood_gets_one_notice_per_window_and_every_message_is_stored(settings):
  # given
  settings.FLOOD_MAX_MESSAGES = 3
  settings.FLOOD_WINDOW_SECONDS = 60

  # when
  answers = [say("/help") for _ in range(6)]

  # then
  assert all(len(replies) == 1 for replies in answers[:3])
  assert answers[3][0].text.startswith("You're sending messages too fast.")
  assert answers[4] == [] and answers[5] == []
  assert Message.objects.filter(role="user").count() == 6


def test_flood_notice_again_in_the_next_window(settings):
  settings.FLOOD_MAX_MESSAGES = 1
  say("/help")
  say("/help")
  state = customer().state
  state["flood_until"] = "2000-01-01T00:00:00+00:00"
  type(customer()).objects.filter(pk=customer().pk).update(state=state)

  replies = say("/help")

  assert replies[0].text.startswith("You're sending messages too fast.")


def test_flood_is_per_customer(settings):
  settings.FLOOD_MAX_MESSAGES = 1
  say("/help")
  flooded = say("/help")

  other = say("/help", user="other")

  assert flooded[0].text.startswith("You're sending messages too fast.")
  assert len(other) == 1
  assert not other[0].text.startswith("You're sending messages too fast.")


def test_a_customer_back_after_a_pause_is_not_counted(settings):
  # given: an earlier burst, long ago (the window and last_seen_at's precision have passed)
  import datetime as dt

  from django.db import connection
  from django.test.utils import CaptureQueriesContext
  from django.utils import timezone

  settings.FLOOD_MAX_MESSAGES = 1
  say("/help")
  say("/help")
  long_ago = timezone.now() - dt.timedelta(seconds=settings.FLOOD_WINDOW_SECONDS + 120)
  Message.objects.update(created_at=long_ago)
  type(customer()).objects.update(last_seen_at=long_ago)

  # when
  with CaptureQueriesContext(connection) as queries:
    replies = say("/help")

  # then: answered, and no flood count was needed
  assert not replies[0].text.startswith("You're sending messages too fast.")
  assert not [q["sql"] for q in queries if "COUNT(" in q["sql"]]


def test_a_customer_seen_within_the_window_is_counted(settings):
  # given: seen a moment ago, so their earlier messages may be in the window
  settings.FLOOD_MAX_MESSAGES = 1
  say("/help")

  # when
  replies = say("/help")

  # then
  assert replies[0].text.startswith("You're sending messages too fast.")


GROUP = ChatRef(external_id="-100", type="group", title="Team")


def test_group_message_not_addressed_is_stored_but_not_answered(fake_llm, llm_model):
  replies = say("just chatting", chat=GROUP, addressed=False)

  assert replies == []
  stored = Message.objects.get()
  assert (stored.addressed, stored.chat.type, stored.chat.title) == (False, "group", "Team")
  assert fake_llm.chat_requests == []


def test_group_in_addressed_only_mode_stores_nothing_unaddressed():
  say("/help", chat=GROUP)
  Chat.objects.update(store_mode=Chat.StoreMode.ADDRESSED)

  replies = say("just chatting", chat=GROUP, addressed=False)

  assert replies == []
  assert Message.objects.filter(role="user").count() == 1


def test_chat_title_follows_renames():
  say("/help", chat=GROUP)
  say("/help", chat=ChatRef(external_id="-100", type="group", title="Team 2"))

  assert Chat.objects.get().title == "Team 2"


def test_reply_sent_records_the_channels_message_id():
  # given
  replies = say("/help")

  # when
  asyncio.run(reply_sent(message_id=replies[0].message_id, external_message_id=4242))

  # then
  assert Message.objects.get(pk=replies[0].message_id).external_message_id == 4242


def test_reply_ids_sent_at_once_are_written_together(monkeypatch):
  # given: answers in three chats, sent at about the same time
  from assistant import engine
  from memory.services import message_set_external_ids

  batches = []

  def recording(pairs):
    batches.append(len(pairs))
    return message_set_external_ids(pairs)

  monkeypatch.setattr(engine, "message_set_external_ids", recording)
  ids = [
    say("/help", user=f"u{n}", chat=ChatRef(external_id=f"u{n}"))[0].message_id for n in range(3)
  ]

  async def send_all() -> None:
    await asyncio.gather(
      *(reply_sent(message_id=pk, external_message_id=500 + n) for n, pk in enumerate(ids))
    )

  # when
  asyncio.run(send_all())

  # then: all recorded by one write
  assert batches == [3]
  recorded = sorted(
    Message.objects.filter(pk__in=ids).values_list("external_message_id", flat=True)
  )
  assert recorded == [500, 501, 502]


def test_names_are_kept_fresh():
  say("/help", first_name="Anna")
  say("/help", first_name="Anya")

  assert customer().first_name == "Anya"
  assert transcript(USER)[0] == ("user", "/help")


def test_unknown_awaited_input_from_an_older_version_is_dropped(fake_llm, llm_model):
  # given
  say("/help")
  type(customer()).objects.update(state={"pending": {"kind": "survey"}})

  # when
  replies = say("What do you do?")

  # then
  assert replies[0].text == "Fake answer."
  assert customer().state == {}
