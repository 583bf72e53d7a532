"""End to end in groups: speak only when addressed, never crash on group life-cycle updates."""

import pytest

from assistant.db import run_db
from memory.models import Chat, Message

pytestmark = pytest.mark.django_db(transaction=True)

GROUP = -100500


async def test_group_answers_only_when_addressed(telegram, run_bot, fake_llm, llm_model):
  # given
  fake_llm.enqueue(text="Hello, Anna!")
  updates = telegram.updates
  async with run_bot():
    # when: small talk, then a mention
    telegram.push_update(updates.group_text("anyone for lunch?", chat_id=GROUP, user_id=1))
    mention = updates.group_text("hi bot", chat_id=GROUP, user_id=2, mention=True)
    telegram.push_update(mention)
    (reply,) = await telegram.wait_sent(1, chat_id=GROUP)
    await telegram.wait_calls("getUpdates", 3)

  # then: one answer, quoting the mention, no typing for the small talk
  question = telegram.calls("sendMessage")[0]["params"]
  assert reply["text"].startswith("Hello, Anna!")
  assert question["reply_parameters"]["message_id"] == mention["message"]["message_id"]
  assert len(telegram.calls("sendChatAction", chat_id=GROUP)) >= 1
  stored = await run_db(_group_texts)
  assert ("anyone for lunch?", False) in stored
  assert ("hi bot", True) in stored
  assert fake_llm.chat_requests[0]["json"]["messages"][-1]["content"] == "hi bot"


def _group_texts() -> list[tuple[str, bool]]:
  chat = Chat.objects.get(external_id=str(GROUP))
  return list(chat.messages.filter(role=Message.Role.USER).values_list("text", "addressed"))


async def test_group_life_cycle_updates_are_handled(telegram, run_bot, llm_model, caplog):
  # given
  updates = telegram.updates
  updates.group_chat(-42, chat_type="group", title="Old group")
  async with run_bot():
    # when: the bot is added, the group talks to it, becomes a supergroup, removes the bot
    telegram.push_update(updates.my_chat_member(-42, old="left", new="member"))
    telegram.push_update(updates.group_text("/help", chat_id=-42, command=True))
    await telegram.wait_sent(1, chat_id=-42)
    telegram.push_update(updates.migrate(-42, -10042))
    updates.group_chat(-10042, title="New group")
    telegram.push_update(updates.my_chat_member(-10042, old="member", new="kicked"))
    telegram.push_update(updates.channel_post("news"))
    telegram.push_update(updates.edited("fixed typo", user_id=5))
    await telegram.wait_calls("getUpdates", 4)
    await telegram.wait_for(lambda: [1] if not telegram.pending_updates else [], 1)

  # then: the history moved to the new id, the bot is no longer a member, nothing crashed
  chat = await run_db(Chat.objects.get, external_id="-10042")
  assert (chat.type, chat.bot_is_member) == ("supergroup", False)
  assert await run_db(chat.messages.count) == 2  # /help and its answer
  assert "Error handling update" not in caplog.text
  assert len(telegram.sent()) == 1
