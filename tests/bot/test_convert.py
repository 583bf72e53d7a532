import pytest
from telegram import Update, User

from assistant.types import ChatRef, Sender, TurnKind
from bot.convert import chat_ref, clean_text, media_type, turn_from_update
from tests.fakes.telegram_server import BOT_USER
from tests.fakes.telegram_updates import MEDIA, UpdateFactory

BOT = User(id=BOT_USER["id"], first_name="Assistant", is_bot=True, username=BOT_USER["username"])


@pytest.fixture
def updates():
  return UpdateFactory(bot_user=BOT_USER)


def convert(data: dict):
  return turn_from_update(Update.de_json(data, None), bot=BOT)


def test_private_text_becomes_a_text_turn_with_plain_types(updates):
  # given
  data = updates.text("Сколько стоит сайт?", user_id=42, language_code="ru")

  # when
  turn = convert(data)

  # then
  assert turn.kind == TurnKind.TEXT
  assert turn.text == "Сколько стоит сайт?"
  assert turn.sender == Sender(external_id="42", first_name="Anna", language_code="ru")
  assert turn.chat == ChatRef(external_id="42", type="private")
  assert type(turn.chat.type) is str  # no PTB enum leaves bot/
  assert turn.update_id == data["update_id"]
  assert turn.external_message_id == data["message"]["message_id"]
  assert turn.addressed is True
  assert turn.channel == "telegram"


def test_command_addressed_to_this_bot_loses_the_handle(updates):
  turn = convert(updates.command("/start@assistant_test_bot promo42", user_id=7))

  assert turn.text == "/start promo42"


def test_contact_carries_phone_and_owner(updates):
  turn = convert(updates.contact("+79123456789", user_id=7, contact_user_id=8))

  assert (turn.kind, turn.contact_phone, turn.contact_user_id) == (
    TurnKind.CONTACT,
    "+79123456789",
    "8",
  )


def test_contact_without_owner_has_empty_owner(updates):
  data = updates.contact("+79123456789", user_id=7)
  del data["message"]["contact"]["user_id"]

  assert convert(data).contact_user_id == ""


@pytest.mark.parametrize("kind", sorted(MEDIA))
def test_media_becomes_unsupported_with_its_type(updates, kind):
  turn = convert(updates.media(kind, user_id=7, caption="look"))

  assert (turn.kind, turn.media_type, turn.text) == (TurnKind.UNSUPPORTED, kind, "look")


def test_button_press_carries_data_and_the_pressed_message(updates):
  data = updates.callback("fb:up:12", user_id=7, message_id=99)

  turn = convert(data)

  assert (turn.kind, turn.callback_data, turn.external_message_id) == (
    TurnKind.BUTTON,
    "fb:up:12",
    99,
  )
  assert turn.chat.external_id == "7"


def test_button_on_an_inline_message_uses_the_private_chat(updates):
  data = updates.callback("x", user_id=7)
  del data["callback_query"]["message"]
  data["callback_query"]["inline_message_id"] = "im1"

  turn = convert(data)

  assert (turn.chat, turn.external_message_id) == (ChatRef(external_id="7"), None)


def test_game_button_without_data_is_ignored(updates):
  data = updates.callback("x", user_id=7)
  del data["callback_query"]["data"]
  data["callback_query"]["game_short_name"] = "g"

  assert convert(data) is None


@pytest.mark.parametrize(
  "build",
  [
    lambda u: u.edited("changed", user_id=7),
    lambda u: u.channel_post("news"),
    lambda u: u.my_chat_member(),
    lambda u: u.migrate(-100, -1001),
  ],
  ids=["edited", "channel_post", "my_chat_member", "service_message"],
)
def test_ignored_updates_give_no_turn(updates, build):
  assert convert(build(updates)) is None


def test_other_update_types_give_no_turn(updates, caplog):
  poll = {"update_id": 77, "poll": {"id": "1", "question": "q", "options": [],
    "total_voter_count": 0, "is_closed": True, "is_anonymous": True, "type": "regular",
    "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}}  # fmt: skip
  caplog.set_level("DEBUG", logger="bot.convert")

  assert convert(poll) is None
  assert "Ignoring update 77: other" in caplog.text


def test_message_from_a_bot_is_ignored(updates):
  data = updates.text("hi", user_id=7)
  data["message"]["from"]["is_bot"] = True

  assert convert(data) is None


def test_group_message_without_mention_is_not_addressed(updates):
  turn = convert(updates.group_text("hello all", chat_id=-100500, user_id=7))

  assert turn.addressed is False
  assert turn.chat == ChatRef(external_id="-100500", type="supergroup", title="Team")


def test_group_mention_is_addressed_and_stripped(updates):
  turn = convert(updates.group_text("how much?", chat_id=-100500, mention=True))

  assert (turn.addressed, turn.text) == (True, "how much?")


def test_group_text_mention_of_the_bot_is_addressed(updates):
  data = updates.group_text("Assistant, hi", chat_id=-100500)
  data["message"]["entities"] = [
    {"type": "text_mention", "offset": 0, "length": 9, "user": BOT_USER},
  ]

  assert convert(data).addressed is True


def test_group_mention_of_someone_else_is_not_addressed(updates):
  data = updates.group_text("@bob hi", chat_id=-100500)
  data["message"]["entities"] = [{"type": "mention", "offset": 0, "length": 4}]

  assert convert(data).addressed is False


def test_group_reply_to_the_bot_is_addressed(updates):
  turn = convert(updates.group_text("and then?", chat_id=-100500, reply_to_message_id=5))

  assert (turn.addressed, turn.reply_to_external_id) == (True, 5)


@pytest.mark.parametrize(
  ("text", "addressed", "cleaned"),
  [
    ("/services", True, "/services"),
    ("/services@assistant_test_bot", True, "/services"),
    ("/services@other_bot", False, "/services@other_bot"),
  ],
)
def test_group_commands(updates, text, addressed, cleaned):
  turn = convert(updates.group_text(text, chat_id=-100500, command=True))

  assert (turn.addressed, turn.text) == (addressed, cleaned)


def test_group_photo_with_mention_in_caption_is_addressed(updates):
  data = updates.group_text("", chat_id=-100500)
  message = data["message"]
  del message["text"]
  message.update(photo=MEDIA["photo"], caption="@assistant_test_bot look")
  message["caption_entities"] = [{"type": "mention", "offset": 0, "length": 19}]

  turn = convert(data)

  assert (turn.kind, turn.addressed) == (TurnKind.UNSUPPORTED, True)


def test_forum_topic_gives_thread_id(updates):
  updates.group_chat(-100777, is_forum=True)

  turn = convert(updates.group_text("hi", chat_id=-100777, mention=True, thread_id=33))

  assert (turn.chat.thread_id, turn.chat.is_forum) == (33, True)


def test_media_type_of_plain_text_is_empty(updates):
  message = Update.de_json(updates.text("hi"), None).message

  assert media_type(message) == ""
  assert chat_ref(message.chat, None).thread_id is None


def test_clean_text_keeps_private_mentions(updates):
  message = Update.de_json(updates.text("@assistant_test_bot hi"), None).message

  assert clean_text(message, bot=BOT) == "@assistant_test_bot hi"
