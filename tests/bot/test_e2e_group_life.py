"""End to end: a group's life (added, migrated, edited, removed), its admins' switch, allow-lists."""

import asyncio

import pytest
from django.utils import translation

from assistant.conversation.groups import not_allowed_text
from assistant.db import run_db
from leads.models import Customer
from memory.models import Chat, Message
from memory.search import message_search
from tests.assistant.engine_helpers import tr
from tests.fakes.telegram_server import ADMIN_RIGHTS

pytestmark = pytest.mark.django_db(transaction=True)

GROUP = -100500
ANNA, BORIS = 11, 12
HELLO = (
  "Hello, everyone! I'm the business's assistant. Mention me or reply to my message to ask "
  "a question, /services shows what we offer. I answer only when addressed. Group "
  "administrators can switch me off with /bot_off."
)


def say(updates, text: str, user: int, *, chat_id: int = GROUP, **kwargs) -> dict:
  name = {ANNA: "Anna", BORIS: "Boris"}[user]
  return updates.group_text(text, chat_id=chat_id, user_id=user, first_name=name, **kwargs)


async def settle(telegram, app) -> None:
  """Wait until every pushed update was fetched and handled."""
  await telegram.wait_for(lambda: [1] if not telegram.pending_updates else [], 1)
  await telegram.wait_calls("getUpdates", len(telegram.calls("getUpdates")) + 1)  # batch queued
  processor = app.update_processor
  for _ in range(2):  # twice: an update may be on its way from the queue to the processor
    await telegram.wait_for(
      lambda: [1] if app.update_queue.empty() and processor.pending == 0 else [], 1
    )
    await asyncio.sleep(0.02)


def _chat(external_id: int) -> Chat:
  return Chat.objects.get(external_id=str(external_id))


async def test_bot_added_says_hello_once_and_removal_is_recorded(telegram, run_bot, llm_model):
  # given
  updates = telegram.updates
  updates.group_chat(GROUP, title="Bakers")
  async with run_bot() as app:
    # when: added, promoted to admin (not a new arrival), then removed
    telegram.push_update(updates.my_chat_member(GROUP, user_id=ANNA, old="left", new="member"))
    (hello,) = await telegram.wait_sent(1, chat_id=GROUP)
    promoted = updates.my_chat_member(GROUP, old="member", new="administrator")
    promoted["my_chat_member"]["new_chat_member"].update(ADMIN_RIGHTS)
    telegram.push_update(promoted)
    removed = updates.my_chat_member(GROUP, old="administrator", new="kicked")
    removed["my_chat_member"]["old_chat_member"].update(ADMIN_RIGHTS)
    telegram.push_update(removed)
    await settle(telegram, app)

  # then
  assert hello["text"] == tr("ru", HELLO)
  assert "reply_parameters" not in telegram.calls("sendMessage", chat_id=GROUP)[0]["params"]
  assert len(telegram.sent(GROUP)) == 1
  chat = await run_db(_chat, GROUP)
  assert (chat.bot_is_member, chat.title) == (False, "Bakers")
  stored = await run_db(lambda: list(Message.objects.values_list("role", "external_message_id")))
  assert stored == [("assistant", hello["message_id"])]


async def test_supergroup_migration_keeps_one_chat_and_its_history(
  telegram, run_bot, fake_llm, llm_model
):
  # given: a basic group talks to the bot
  updates = telegram.updates
  updates.group_chat(-42, chat_type="group", title="Old")
  async with run_bot() as app:
    telegram.push_update(say(updates, "remember: rye bread", ANNA, chat_id=-42, mention=True))
    await telegram.wait_sent(1, chat_id=-42)
    await run_db(Chat.objects.filter(external_id="-42").update, store_mode="addressed")

    # when: it becomes a supergroup; a message there beats the migration notices
    updates.group_chat(-10042, title="New")
    telegram.push_update(say(updates, "hi in the supergroup", BORIS, chat_id=-10042))
    await settle(telegram, app)
    telegram.push_update(updates.migrate(-42, -10042, user_id=ANNA))
    arrival = say(updates, "", ANNA, chat_id=-10042)
    del arrival["message"]["text"]
    arrival["message"]["migrate_from_chat_id"] = -42
    telegram.push_update(arrival)
    await settle(telegram, app)
    telegram.push_update(say(updates, "what bread?", ANNA, chat_id=-10042, mention=True))
    await telegram.wait_sent(1, chat_id=-10042)

  # then: one chat under the new id, with the old history and the old group's settings
  chats = await run_db(lambda: list(Chat.objects.values_list("external_id", "type", "store_mode")))
  assert chats == [("-10042", "supergroup", "addressed")]
  texts = await run_db(lambda: list(Message.objects.order_by("id").values_list("text", flat=True)))
  assert texts == ["remember: rye bread", "Fake answer.", "hi in the supergroup", "what bread?",
                   "Fake answer."]  # fmt: skip
  after = fake_llm.chat_requests[-1]["json"]["messages"]
  assert [m["content"] for m in after[1:]] == [
    "Anna: remember: rye bread",
    "Fake answer.",
    "Anna: what bread?",
  ]


async def test_group_admins_switch_the_bot_off_and_on(telegram, run_bot, fake_llm, llm_model):
  # given: Anna administers the group, Boris does not
  updates = telegram.updates
  updates.group_chat(GROUP, title="Bakers")
  telegram.chat_members[(GROUP, ANNA)] = "administrator"
  async with run_bot() as app:
    # when: Boris tries to switch it off, then Anna does; Boris asks; Anna switches it back on
    telegram.push_update(say(updates, "/bot_off", BORIS, command=True))
    (refused,) = await telegram.wait_sent(1, chat_id=GROUP)
    telegram.push_update(say(updates, "/bot_off@assistant_test_bot", ANNA, command=True))
    (_, off) = await telegram.wait_sent(2, chat_id=GROUP)
    telegram.push_update(say(updates, "anyone there?", BORIS, mention=True))
    await settle(telegram, app)
    silent = len(telegram.sent(GROUP))
    telegram.push_update(say(updates, "/bot_on", ANNA, command=True))
    await telegram.wait_sent(3, chat_id=GROUP)
    telegram.push_update(say(updates, "now?", BORIS, mention=True))
    (*_, answer) = await telegram.wait_sent(4, chat_id=GROUP)

  # then
  assert refused["text"] == tr("ru", "Only the group's administrators can switch me on or off.")
  assert "/bot_on" in off["text"]
  assert silent == 2  # while off: no answer...
  assert answer["text"] == "Fake answer."
  stored = await run_db(lambda: list(Message.objects.values_list("text", flat=True)))
  assert "anyone there?" not in stored  # ...and nothing read or kept
  checks = telegram.calls("getChatMember", chat_id=GROUP)
  assert [c["params"]["user_id"] for c in checks] == [BORIS, ANNA, ANNA]
  assert [r["json"]["messages"][-1]["content"] for r in fake_llm.chat_requests] == ["Boris: now?"]


async def test_anonymous_administrator_can_switch_the_bot_off(telegram, run_bot, llm_model):
  # given: an administrator writing "as the group" (Telegram's GroupAnonymousBot)
  updates = telegram.updates
  chat = updates.group_chat(GROUP, title="Bakers")
  update = say(updates, "/bot_off", ANNA, command=True)
  update["message"]["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
  update["message"]["sender_chat"] = chat
  async with run_bot():
    # when
    telegram.push_update(update)
    (off,) = await telegram.wait_sent(1, chat_id=GROUP)

  # then: switched off without asking Telegram who it is, and no customer made of the group
  assert "/bot_on" in off["text"]
  assert (await run_db(_chat, GROUP)).bot_enabled is False
  assert telegram.calls("getChatMember") == []
  assert await run_db(Customer.objects.count) == 0


async def test_allow_list_mode_tells_a_new_group_once_then_stays_silent(
  telegram, run_bot, fake_llm, llm_model, settings
):
  # given
  settings.GROUPS_ALLOWLIST_ONLY = True
  updates = telegram.updates
  updates.group_chat(GROUP, title="Strangers")
  async with run_bot() as app:
    # when: added, then mentioned twice
    telegram.push_update(updates.my_chat_member(GROUP, old="left", new="member"))
    (notice,) = await telegram.wait_sent(1, chat_id=GROUP)
    telegram.push_update(say(updates, "hello?", ANNA, mention=True))
    telegram.push_update(say(updates, "HELLO?", BORIS, mention=True))
    await settle(telegram, app)
    before = len(telegram.sent(GROUP))
    # ...until staff allow the group in the admin
    await run_db(Chat.objects.filter(external_id=str(GROUP)).update, allowed=True)
    telegram.push_update(say(updates, "and now?", ANNA, mention=True))
    await telegram.wait_sent(2, chat_id=GROUP)

  # then
  assert before == 1
  with translation.override("ru"):
    assert notice["text"] == not_allowed_text()
  assert [r["json"]["messages"][-1]["content"] for r in fake_llm.chat_requests] == [
    "Anna: and now?"
  ]
  stored = await run_db(lambda: list(Message.objects.values_list("text", flat=True)))
  assert "hello?" not in stored and "HELLO?" not in stored


async def test_an_unknown_group_in_allow_list_mode_is_told_on_first_mention(
  telegram, run_bot, fake_llm, llm_model, settings
):
  settings.GROUPS_ALLOWLIST_ONLY = True
  updates = telegram.updates
  async with run_bot() as app:
    telegram.push_update(say(updates, "small talk", BORIS))
    telegram.push_update(say(updates, "hello?", ANNA, mention=True))
    telegram.push_update(say(updates, "hello??", ANNA, mention=True))
    await settle(telegram, app)

  assert len(telegram.sent(GROUP)) == 1
  chat = await run_db(_chat, GROUP)
  assert (chat.allowed, chat.not_allowed_notice_sent) == (False, True)
  assert fake_llm.chat_requests == []


async def test_edits_update_the_stored_text_and_members_coming_and_going_are_ignored(
  telegram, run_bot, fake_llm, llm_model, caplog
):
  # given
  updates = telegram.updates
  updates.group_chat(GROUP, title="Bakers")
  original = say(updates, "I need a wedding cake", ANNA)
  async with run_bot() as app:
    telegram.push_update(original)
    await settle(telegram, app)
    # when: Anna edits it (adding a phone), people join and leave
    message_id = original["message"]["message_id"]
    edited = updates.edited("I need a birthday cake, +7 912 345-67-89", user_id=ANNA,
                            message_id=message_id, chat_id=GROUP)  # fmt: skip
    telegram.push_update(edited)
    joined = say(updates, "", BORIS)
    del joined["message"]["text"]
    joined["message"]["new_chat_members"] = [updates.user(BORIS, first_name="Boris")]
    left = say(updates, "", BORIS)
    del left["message"]["text"]
    left["message"]["left_chat_member"] = updates.user(BORIS, first_name="Boris")
    telegram.push_update(joined)
    telegram.push_update(left)
    unknown = updates.edited("never stored", user_id=BORIS, message_id=99, chat_id=GROUP)
    telegram.push_update(unknown)
    by_a_bot = updates.edited("a bot's edit", user_id=BORIS, message_id=message_id, chat_id=GROUP)
    by_a_bot["edited_message"]["from"]["is_bot"] = True
    telegram.push_update(by_a_bot)
    await settle(telegram, app)

  # then: the edit is stored (masked) and found by search; nothing answered, nothing crashed
  message = await run_db(Message.objects.get)
  assert (message.text, message.edited_at is not None) == ("I need a birthday cake, [phone]", True)
  found = await run_db(
    lambda: message_search(customer=message.customer, chat=message.chat, query="birthday", limit=3)
  )
  assert [m.pk for m in found] == [message.pk]
  assert telegram.sent(GROUP) == []
  assert "Error handling update" not in caplog.text
  assert await run_db(Message.objects.count) == 1


async def test_a_group_that_removes_the_bot_at_once_gets_no_hello(telegram, run_bot, caplog):
  caplog.set_level("INFO", logger="bot.groups")
  telegram.fail("sendMessage", status=403, description="Forbidden: bot was kicked from the group")

  async with run_bot() as app:
    telegram.push_update(telegram.updates.my_chat_member(GROUP, old="left", new="member"))
    await settle(telegram, app)

  assert f"Cannot greet chat {GROUP}: Forbidden: bot was kicked from the group" in caplog.text
  assert "Error handling update" not in caplog.text
  assert await run_db(Message.objects.count) == 1  # the hello stays in the transcript, unsent
