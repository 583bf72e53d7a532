"""bot/groups.py and the group parts of the adapter: admin checks, anonymous admins, limits, keys."""

import asyncio
import logging
import time

import pytest
from telegram import Bot, Update, User

from assistant.types import ChatRef, Reply, Sender, Turn
from bot import groups, handlers
from bot.application import BotRateLimiter, rate_limiter
from bot.groups import admin_checked, anonymous_admin_turn, group_command_menu, log_privacy_mode
from bot.processor import chat_key
from bot.sender import ReplySender
from tests.fakes.telegram_server import BOT_USER
from tests.fakes.telegram_updates import UpdateFactory

BOT = User(id=BOT_USER["id"], first_name="Assistant", is_bot=True, username=BOT_USER["username"])
GROUP = -100500


@pytest.fixture
def updates():
  return UpdateFactory(bot_user=BOT_USER)


@pytest.fixture
async def bot(telegram):
  async with Bot(telegram.token, base_url=telegram.base_url) as bot:
    yield bot


def group_turn(text: str, *, user: str = "7", addressed: bool = True, chat_type="supergroup"):
  return Turn(
    channel="telegram",
    sender=Sender(external_id=user),
    chat=ChatRef(external_id=str(GROUP), type=chat_type),
    text=text,
    addressed=addressed,
  )


def anonymous(updates, text: str, *, sender_chat_id: int = GROUP) -> Update:
  data = updates.group_text(text, chat_id=GROUP, command=text.startswith("/"))
  data["message"]["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
  data["message"]["sender_chat"] = {"id": sender_chat_id, "type": "supergroup", "title": "T"}
  return Update.de_json(data, None)


def test_both_modules_read_the_engine_from_the_same_key():
  assert groups.ENGINE_KEY == handlers.ENGINE_KEY


# --- admin checks --------------------------------------------------------------------------------
async def test_admin_status_is_asked_only_for_switch_commands_in_groups(telegram, bot):
  # given
  telegram.chat_members[(GROUP, 7)] = "creator"

  # when
  admin = await admin_checked(group_turn("/bot_off"), bot)
  member = await admin_checked(group_turn("/bot_on", user="8"), bot)
  question = await admin_checked(group_turn("/help"), bot)
  unaddressed = await admin_checked(group_turn("/bot_off", addressed=False), bot)
  private = await admin_checked(group_turn("/bot_off", chat_type="private"), bot)

  # then
  assert (admin.is_group_admin, member.is_group_admin) == (True, False)
  assert not (question.is_group_admin or unaddressed.is_group_admin or private.is_group_admin)
  assert [c["params"]["user_id"] for c in telegram.calls("getChatMember")] == [7, 8]


async def test_a_failed_admin_check_counts_as_not_an_admin(telegram, bot, caplog):
  telegram.fail("getChatMember", status=400, description="Bad Request: user not found")

  turn = await admin_checked(group_turn("/bot_off"), bot)

  assert turn.is_group_admin is False
  assert f"Could not check the admin status in chat {GROUP}" in caplog.text


def test_an_anonymous_admins_switch_command_becomes_an_admin_turn(updates):
  turn = anonymous_admin_turn(anonymous(updates, "/bot_off@assistant_test_bot"), bot=BOT)

  assert (turn.text, turn.is_group_admin, turn.sender.external_id) == ("/bot_off", True, str(GROUP))
  assert turn.bot_username == "assistant_test_bot"


@pytest.mark.parametrize(
  ("text", "sender_chat_id"),
  [
    ("hello everyone", GROUP),  # not a command
    ("/help", GROUP),  # not a switch
    ("/bot_off@other_bot", GROUP),  # another bot's
    ("/bot_off", -100999),  # a linked channel's post, not an administrator
  ],
)
def test_other_anonymous_messages_are_ignored(updates, text, sender_chat_id):
  update = anonymous(updates, text, sender_chat_id=sender_chat_id)

  assert anonymous_admin_turn(update, bot=BOT) is None


def test_anonymous_without_text_or_a_person_without_sender_chat_is_no_admin_turn(updates):
  photo = anonymous(updates, "/bot_off").to_dict()
  del photo["message"]["text"]
  person = Update.de_json(updates.group_text("/bot_off", chat_id=GROUP, command=True), None)

  assert anonymous_admin_turn(Update.de_json(photo, None), bot=BOT) is None
  assert anonymous_admin_turn(person, bot=BOT) is None
  assert anonymous_admin_turn(Update.de_json(updates.edited("x"), None), bot=BOT) is None


# --- start-up ------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
async def test_group_menus_are_published_per_language(telegram, run_bot, llm_model, settings):
  settings.LANGUAGE_CODE = "ru"

  async with run_bot():
    pass

  scoped = telegram.scoped_commands
  assert set(scoped) == {
    ("all_group_chats", ""),
    ("all_group_chats", "ru"),
    ("all_group_chats", "en"),
  }
  assert [c["command"] for c in scoped[("all_group_chats", "en")]] == [
    "ask",
    "services",
    "help",
    "forget",
    "bot_off",
    "bot_on",
  ]
  assert scoped[("all_group_chats", "")] == scoped[("all_group_chats", "ru")]
  assert [c.command for c in group_command_menu("ru")] == [
    c.command for c in group_command_menu("en")
  ]


def test_privacy_mode_is_logged_both_ways(caplog):
  caplog.set_level(logging.INFO, logger="bot.groups")
  reader = User(id=1, first_name="B", is_bot=True, can_read_all_group_messages=True)

  log_privacy_mode(BOT)
  log_privacy_mode(reader)

  assert caplog.messages == [
    "Privacy mode is on: in groups the bot sees only commands, replies to it and mentions",
    "Privacy mode is off: the bot sees every group message (answers when addressed)",
  ]


# --- limits and order ----------------------------------------------------------------------------
def test_the_group_limit_is_telegrams_20_a_minute(settings):
  settings.TELEGRAM_GROUP_RATE_LIMIT_PER_MINUTE = 20  # the default (tests/bot/conftest.py: off)

  limiter = rate_limiter()

  assert (limiter._group_max_rate, limiter._group_time_period) == (20, 60)


async def test_messages_into_one_group_wait_for_the_group_limit_others_do_not():
  # given: 2 messages per 0.4 s into any one group; no overall limit
  limiter = BotRateLimiter(overall_max_rate=0, group_max_rate=2, group_time_period=0.4)
  sent: list[tuple[int, float]] = []
  start = time.monotonic()

  async def callback(chat_id):
    sent.append((chat_id, time.monotonic() - start))
    return True

  async def send(chat_id):
    await limiter.process_request(
      callback, (chat_id,), {}, "sendMessage", {"chat_id": chat_id}, None
    )

  # when: four into the group, two into private chats, all at once
  await asyncio.gather(*(send(chat) for chat in [GROUP, GROUP, GROUP, GROUP, 5, 6]))

  # then: the private ones go at once; the group's third and fourth wait their turn
  at = {chat: [t for c, t in sent if c == chat] for chat in (GROUP, 5, 6)}
  assert max(at[5] + at[6]) < 0.1
  assert sorted(at[GROUP])[:2] == pytest.approx([0, 0], abs=0.1)
  assert sorted(at[GROUP])[2] >= 0.15


def test_group_updates_are_ordered_per_participant(updates):
  anna = Update.de_json(updates.group_text("hi", chat_id=GROUP, user_id=1), None)
  bob = Update.de_json(updates.group_text("hi", chat_id=GROUP, user_id=2), None)
  private = Update.de_json(updates.text("hi", user_id=3), None)

  assert (chat_key(anna), chat_key(bob), chat_key(private)) == ((GROUP, 1), (GROUP, 2), 3)


async def test_a_share_phone_keyboard_is_never_sent_into_a_group(telegram, bot):
  sender = ReplySender(bot, group_turn("hi"))

  await sender.send(Reply(text="Leave your phone", request_contact="📱 Share my phone"))
  await sender.send(Reply(text="Cancelled", remove_keyboard=True))

  assert [c["params"].get("reply_markup") for c in telegram.calls("sendMessage")] == [None, None]
