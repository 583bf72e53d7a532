"""End to end in groups: who is addressed, who is who, forum topics, private data, deep links.

The real PTB Application polls the fake Bot API; the real engine answers through the fake
OpenAI server, whose recorded requests show exactly what the model was told.
"""

import asyncio
import json

import pytest

from assistant.db import run_db
from leads.models import Customer, Lead
from memory.models import Message
from tests.assistant.engine_helpers import tr
from tests.bot.conftest import running_bot
from tests.fakes.telegram_server import BOT_USER, FakeTelegramServer

pytestmark = pytest.mark.django_db(transaction=True)

GROUP = -100500
INVITE = (
  "To leave your phone or e-mail, write to me in a private chat: only our team will see it "
  "there, not the group."
)
ANNA, BORIS, CAROL = 11, 12, 13
NAMES = {ANNA: "Anna", BORIS: "Boris", CAROL: "Carol"}


def say(updates, text: str, user: int, *, chat_id: int = GROUP, **kwargs) -> dict:
  return updates.group_text(text, chat_id=chat_id, user_id=user, first_name=NAMES[user], **kwargs)


def prompt_of(request: dict) -> str:
  return json.dumps(request["json"]["messages"], ensure_ascii=False)


def last_user(request: dict) -> str:
  return request["json"]["messages"][-1]["content"]


async def test_three_participants_are_answered_only_when_addressed(
  telegram, run_bot, fake_llm, llm_model
):
  # given: three people talk at once; the bot is mentioned, replied to and commanded
  updates = telegram.updates
  updates.group_chat(GROUP, title="Bakers")
  talk = [
    say(updates, "morning all", ANNA),
    say(updates, "who has the flour price?", ANNA, mention=True),
    say(updates, "lunch at one?", BORIS),
    say(updates, "/ask do you deliver on Sundays?", CAROL, command=True),
    say(updates, "and on Saturdays?", ANNA, mention=True),
    say(updates, "/services@assistant_test_bot", BORIS, command=True),
    say(updates, "/weather", CAROL, command=True),  # another bot's command
    say(updates, "@other_bot hi", BORIS),
  ]
  async with run_bot():
    # when
    for update in talk:
      telegram.push_update(update)
    await telegram.wait_sent(5, chat_id=GROUP)
    await telegram.wait_calls("getUpdates", 3)

  # then: four answers, each quoting the message it answers; small talk gets none
  asked = {talk[i]["message"]["message_id"]: i for i in (1, 3, 4, 5)}
  calls = telegram.calls("sendMessage", chat_id=GROUP)
  quoted = [
    c["params"]["reply_parameters"]["message_id"]
    for c in calls
    if "reply_parameters" in c["params"]
  ]
  assert sorted(asked[message_id] for message_id in quoted) == [1, 3, 4, 5]
  # ...plus, after Anna's question about a price, the private chat offered for her contact
  (invite,) = [c["params"] for c in calls if "reply_parameters" not in c["params"]]
  (button,) = invite["reply_markup"]["inline_keyboard"][0]
  assert button["url"].startswith("https://t.me/assistant_test_bot?start=contact_")
  # each LLM call speaks to one person, by name, with their own thread only
  requests = fake_llm.chat_requests
  assert sorted(last_user(r) for r in requests) == [
    "Anna: and on Saturdays?",
    "Anna: who has the flour price?",
    "Carol: do you deliver on Sundays?",
  ]
  second = next(r for r in requests if last_user(r) == "Anna: and on Saturdays?")
  history = [m["content"] for m in second["json"]["messages"][1:-1]]
  assert history[:2] == ["Anna: who has the flour price?", "Fake answer."]
  assert history[2] == tr("ru", INVITE)  # the invite is part of her thread too
  system = second["json"]["messages"][0]["content"]
  assert "You are answering Anna: address them by their first name." in system
  assert "the group chat “Bakers”" in system
  # everything is stored with its sender, addressed or not
  stored = await run_db(_stored, GROUP)
  assert ("Anna", "morning all", False) in stored
  assert ("Boris", "lunch at one?", False) in stored
  assert ("Carol", "/weather", False) in stored
  assert ("Carol", "/ask do you deliver on Sundays?", True) in stored
  assert len(stored) == 8


async def _until_stored(text: str) -> None:
  for _attempt in range(500):
    if await run_db(Message.objects.filter(text=text).exists):
      return
    await asyncio.sleep(0.01)
  raise AssertionError(f"{text!r} was not stored within 5 s")


def _stored(chat_id: int) -> list[tuple[str, str, bool]]:
  rows = Message.objects.filter(chat__external_id=str(chat_id), role=Message.Role.USER)
  return [(m.customer.first_name, m.text, m.addressed) for m in rows.select_related("customer")]


async def test_forum_topics_are_separate_conversations(telegram, run_bot, fake_llm, llm_model):
  # given: a forum with two topics
  updates = telegram.updates
  updates.group_chat(-100777, title="Forum", is_forum=True)
  async with run_bot():
    # when: Anna asks in topic 7, then in topic 9, then again in topic 7
    telegram.push_update(say(updates, "cakes?", ANNA, chat_id=-100777, mention=True, thread_id=7))
    await telegram.wait_sent(1, chat_id=-100777)
    telegram.push_update(say(updates, "bread?", ANNA, chat_id=-100777, mention=True, thread_id=9))
    await telegram.wait_sent(2, chat_id=-100777)
    telegram.push_update(
      say(updates, "and pies?", ANNA, chat_id=-100777, mention=True, thread_id=7)
    )
    await telegram.wait_sent(3, chat_id=-100777)

  # then: each answer went into its topic, and each topic is its own conversation
  assert [m["message_thread_id"] for m in telegram.sent(-100777)] == [7, 9, 7]
  bread, pies = fake_llm.chat_requests[1], fake_llm.chat_requests[2]
  assert "cakes" not in prompt_of(bread)
  assert [m["content"] for m in pies["json"]["messages"][1:]] == [
    "Anna: cakes?",
    "Fake answer.",
    "Anna: and pies?",
  ]
  topics = await run_db(lambda: sorted(set(Message.objects.values_list("thread_id", flat=True))))
  assert topics == [7, 9]


async def test_private_data_never_reaches_a_group_answer_or_prompt(
  telegram, run_bot, fake_llm, llm_model
):
  # given: Anna told the bot her phone and a secret phrase in private
  updates = telegram.updates
  updates.group_chat(GROUP, title="Bakers")
  async with run_bot():
    telegram.push_update(updates.command("/start", user_id=ANNA))
    await telegram.wait_sent(2, chat_id=ANNA)
    telegram.push_update(updates.callback("consent:yes", user_id=ANNA, message_id=2))
    await telegram.wait_sent(3, chat_id=ANNA)
    telegram.push_update(updates.text("my phone is +7 912 345-67-89", user_id=ANNA))
    await telegram.wait_sent(4, chat_id=ANNA)
    secret = "My secret phrase is purple-elephant-42, remember it"
    telegram.push_update(updates.text(secret, user_id=ANNA))
    await telegram.wait_sent(5, chat_id=ANNA)
    private_requests = len(fake_llm.chat_requests)

    # when: in the group she (and Boris) ask about exactly that, and she types another phone
    telegram.push_update(say(updates, "what is my secret phrase? purple?", ANNA, mention=True))
    telegram.push_update(say(updates, "what is Anna's phone number?", BORIS, mention=True))
    telegram.push_update(say(updates, "call me +7 999 111-22-33 please", ANNA, mention=True))
    await telegram.wait_sent(3, chat_id=GROUP)
    await telegram.wait_calls("getUpdates", 3)

  # then: no group reply and no prompt for the group holds any of it
  customer = await run_db(Customer.objects.get, external_id=str(ANNA))
  assert customer.phone == "+79123456789"  # the private contact is kept...
  group_requests = fake_llm.chat_requests[private_requests:]
  assert len(group_requests) == 2  # the typed phone got the private-chat link, not the LLM
  canaries = ["purple-elephant", "elephant-42", "912", "9123456789", "999", "111-22-33"]
  for text in [*map(prompt_of, group_requests), *telegram.texts(GROUP)]:
    assert not [canary for canary in canaries if canary in text], text
  for request in group_requests:
    assert "We already have the customer's contact details" not in prompt_of(request)
  # ...and the phone typed in the group was neither saved as a contact nor kept in the text
  stored = await run_db(_stored, GROUP)
  assert ("Anna", "call me [phone] please", True) in stored
  assert await run_db(Lead.objects.filter(phone="+79991112233").exists) is False


async def test_contact_in_a_group_moves_to_the_private_chat_by_deep_link(
  telegram, run_bot, fake_llm, llm_model
):
  # given: Boris asks for a call in the group, with his number
  updates = telegram.updates
  updates.group_chat(GROUP, title="Bakers")
  async with run_bot():
    telegram.push_update(say(updates, "call me back: +7 999 111-22-33", BORIS, mention=True))
    (moved,) = await telegram.wait_sent(1, chat_id=GROUP)

    # when: he taps the button, which opens the private chat with /start contact_<token>
    (button,) = moved["reply_markup"]["inline_keyboard"][0]
    payload = button["url"].split("?start=")[1]
    telegram.push_update(updates.command(f"/start {payload}", user_id=BORIS))
    greeting, consent = await telegram.wait_sent(2, chat_id=BORIS)
    telegram.push_update(updates.callback("consent:yes", user_id=BORIS, message_id=2))
    (*_, ask) = await telegram.wait_sent(3, chat_id=BORIS)
    telegram.push_update(updates.contact("+79991112233", user_id=BORIS))
    await telegram.wait_sent(4, chat_id=BORIS)

  # then: the contact flow ran in private and the lead names the group as its source
  assert button["url"].startswith("https://t.me/assistant_test_bot?start=contact_")
  assert "Bakers" in greeting["text"]
  assert [b["callback_data"] for b in consent["reply_markup"]["inline_keyboard"][0]] == [
    "consent:yes",
    "consent:no",
  ]
  assert ask["request_reply_markup"]["keyboard"][0][0]["request_contact"] is True
  lead = await run_db(Lead.objects.get)
  assert (lead.source, lead.phone) == ("group: Bakers", "+79991112233")
  assert fake_llm.chat_requests == []
  # the group never saw a "share phone" keyboard
  assert all("keyboard" not in (m.get("request_reply_markup") or {}) for m in telegram.sent(GROUP))


async def test_replying_to_the_bot_addresses_it_and_the_topic_root_does_not(
  telegram, run_bot, fake_llm, llm_model
):
  # given
  updates = telegram.updates
  updates.group_chat(GROUP, title="Bakers")
  async with run_bot():
    telegram.push_update(say(updates, "hello", CAROL, mention=True))
    (answer,) = await telegram.wait_sent(1, chat_id=GROUP)
    # when: Boris replies to the bot's answer; Carol writes in a topic whose root is the bot's
    telegram.push_update(say(updates, "thanks!", BORIS, reply_to_message_id=answer["message_id"]))
    await telegram.wait_sent(2, chat_id=GROUP)
    rooted = say(updates, "just chatting", CAROL, reply_to_message_id=answer["message_id"])
    rooted["message"]["reply_to_message"]["forum_topic_created"] = {"name": "t", "icon_color": 1}
    telegram.push_update(rooted)
    await telegram.wait_calls("getUpdates", 4)

  # then
  assert [last_user(r) for r in fake_llm.chat_requests] == ["Carol: hello", "Boris: thanks!"]
  assert len(telegram.sent(GROUP)) == 2


@pytest.mark.parametrize("privacy", [True, False], ids=["privacy-on", "privacy-off"])
async def test_both_privacy_modes_answer_when_addressed(privacy, fake_llm, llm_model, caplog):
  # given: with privacy mode on Telegram delivers only what addresses the bot
  server = FakeTelegramServer(bot_user={**BOT_USER, "can_read_all_group_messages": not privacy})
  server.start()
  caplog.set_level("INFO", logger="bot.groups")
  updates = server.updates
  updates.group_chat(GROUP, title="Bakers")
  talk = [say(updates, "lunch?", BORIS), say(updates, "bread prices?", ANNA, mention=True)]
  try:
    async with running_bot(server):
      # when (each participant is handled concurrently: the talk is stored before the question)
      if not privacy:
        server.push_update(talk[0])
        await _until_stored("lunch?")
      server.push_update(talk[1])
      await server.wait_sent(1, chat_id=GROUP)
  finally:
    server.stop()

  # then: the same answer; the talk around it is shared context only when delivered
  system = fake_llm.chat_requests[0]["json"]["messages"][0]["content"]
  assert ("- Boris: lunch?" in system) is not privacy
  assert len(server.sent(GROUP)) == 2  # the answer and the private-chat offer (prices)
  assert ("Privacy mode is on" in caplog.text) is privacy
