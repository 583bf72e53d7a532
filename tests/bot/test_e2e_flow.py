"""End to end: the real PTB Application polling the fake Bot API, the real engine, the fake LLM."""

import pytest

from assistant.db import run_db
from leads.models import Customer, Feedback, Lead
from memory.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

USER = 4242


def buttons(message: dict) -> list[str]:
  rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
  return [button["callback_data"] for row in rows for button in row]


async def test_consultation_start_consent_contact_question_feedback(
  telegram, run_bot, fake_llm, llm_model
):
  fake_llm.enqueue(text="Сайт-визитка стоит от 30 000 ₽, срок — две недели.")
  async with run_bot():
    # /start: greeting, then the consent request with its buttons
    telegram.push_update(telegram.updates.command("/start", user_id=USER))
    greeting, consent = await telegram.wait_sent(2, chat_id=USER)
    assert greeting["request_reply_markup"] == {"remove_keyboard": True}
    assert buttons(consent) == ["consent:yes", "consent:no"]

    # consent given with the button; the press is answered
    press = telegram.updates.callback("consent:yes", user_id=USER, message_id=consent["message_id"])
    telegram.push_update(press)
    await telegram.wait_sent(3, chat_id=USER)
    answered = await telegram.wait_calls("answerCallbackQuery", 1)
    assert answered[0]["params"]["callback_query_id"] == press["callback_query"]["id"]

    # the customer shares their phone
    telegram.push_update(telegram.updates.contact("+7 912 345-67-89", user_id=USER))
    await telegram.wait_sent(4, chat_id=USER)

    # a question: typing..., then the LLM's answer with 👍/👎
    telegram.push_update(telegram.updates.text("Сколько стоит сайт?", user_id=USER))
    sent = await telegram.wait_for(
      lambda: [m for m in telegram.sent(USER) if "30 000" in m.get("text", "") and buttons(m)], 1
    )
    answer = sent[0]
    assert telegram.calls("sendChatAction", chat_id=USER)
    up, down = buttons(answer)
    assert up.startswith("fb:up:") and down.startswith("fb:down:")

    # 👍
    telegram.push_update(
      telegram.updates.callback(up, user_id=USER, message_id=answer["message_id"])
    )
    await telegram.wait_sent(6, chat_id=USER)

  await run_db(_check_stored, answer["message_id"])
  question = fake_llm.chat_requests[0]["json"]["messages"][-1]
  assert question == {"role": "user", "content": "Сколько стоит сайт?"}


def _check_stored(answer_id: int) -> None:
  customer = Customer.objects.get(external_id=str(USER))
  assert customer.consent == Customer.Consent.GIVEN
  assert customer.phone == "+79123456789"
  assert Lead.objects.filter(customer=customer, phone="+79123456789").count() == 1
  stored = Message.objects.get(role=Message.Role.ASSISTANT, text__contains="30 000")
  assert stored.external_message_id == answer_id  # reply_sent recorded our id
  assert Feedback.objects.get(customer=customer).rating == Feedback.Rating.UP


async def test_duplicated_updates_are_answered_once_even_after_a_restart(
  telegram, run_bot, fake_llm, llm_model
):
  # given
  question = telegram.updates.text("Hello?", user_id=USER)
  async with run_bot():
    # when: Telegram delivers the same update twice in one batch
    telegram.push_update(question)
    telegram.push_update(question)
    await telegram.wait_sent(1, chat_id=USER)
    await telegram.wait_calls("getUpdates", 3)  # a later poll: the duplicate was seen too

  async with run_bot():
    # ...and once more to a freshly started bot (no in-memory trace left)
    telegram.push_update(question)
    telegram.push_update(telegram.updates.text("/help", user_id=USER))
    await telegram.wait_sent(2, chat_id=USER)

  # then: one LLM answer for the question, then the /help answer
  assert len(fake_llm.chat_requests) == 1
  assert len(telegram.sent(USER)) == 2
  assert await run_db(Message.objects.filter(update_id=question["update_id"]).count) == 1


async def test_redelivered_button_press_is_acted_on_once(telegram, run_bot, llm_model):
  press = telegram.updates.callback("consent:yes", user_id=USER, message_id=1)
  async with run_bot():
    telegram.push_update(press)
    await telegram.wait_sent(1, chat_id=USER)
  async with run_bot():
    telegram.push_update(press)
    telegram.push_update(telegram.updates.text("/help", user_id=USER))
    await telegram.wait_sent(2, chat_id=USER)

  # the spinner is stopped each time; the chat's updates run in order, so by the time /help was
  # answered the redelivered press was handled: acted on, it would have added a third message
  assert len(telegram.calls("answerCallbackQuery")) == 2
  assert len(telegram.sent(USER)) == 2


async def test_restart_in_the_middle_of_a_conversation_keeps_the_history(
  telegram, run_bot, fake_llm, llm_model
):
  # given: a first exchange, then the bot restarts
  fake_llm.enqueue(text="We build websites and bots.")
  async with run_bot():
    telegram.push_update(telegram.updates.text("What do you do?", user_id=USER))
    await telegram.wait_for(lambda: [t for t in telegram.texts(USER) if "websites" in t], 1)

  # when
  fake_llm.enqueue(text="From two weeks.")
  async with run_bot():
    telegram.push_update(telegram.updates.text("And how long does a website take?", user_id=USER))
    await telegram.wait_for(lambda: [t for t in telegram.texts(USER) if "two weeks" in t], 1)

  # then: the second question reached the LLM with the first exchange before it
  contents = [m["content"] for m in fake_llm.chat_requests[1]["json"]["messages"]]
  assert contents[-3:] == [
    "What do you do?",
    "We build websites and bots.",
    "And how long does a website take?",
  ]


@pytest.mark.parametrize("failure", [{"status": 500}, {"delay": 1.0}], ids=["500", "timeout"])
async def test_llm_failure_gives_a_fallback_answer(
  telegram, run_bot, fake_llm, llm_model, settings, failure
):
  # given: every attempt fails (500s, or slower than the client's timeout)
  settings.LLM_TIMEOUT = 0.3
  for _ in range(6):
    fake_llm.enqueue(**failure)

  # when
  async with run_bot():
    telegram.push_update(telegram.updates.text("Do you work on weekends?", user_id=USER))
    await telegram.wait_sent(1, chat_id=USER, within=10)
    await telegram.wait_calls("getUpdates", 3)  # the turn is over

  # then: the customer is told (every message sent was stored; the answer is a fallback)
  stored = await run_db(_assistant_messages)
  assert [m.text for m in stored] == telegram.texts(USER)
  assert stored[0].is_fallback is True
  assert [m.external_message_id for m in stored] == [m["message_id"] for m in telegram.sent(USER)]


def _assistant_messages() -> list[Message]:
  return list(Message.objects.filter(role=Message.Role.ASSISTANT).order_by("id"))


async def test_unsupported_media_gets_a_polite_reply(telegram, run_bot, llm_model):
  async with run_bot():
    telegram.push_update(telegram.updates.media("sticker", user_id=USER))
    (reply,) = await telegram.wait_sent(1, chat_id=USER)

  assert "text" in reply["text"].lower() or "текст" in reply["text"].lower()
  stored = await run_db(Message.objects.filter(role=Message.Role.USER).get)
  assert stored.kind == "sticker"
  # No typing assertion: a reply this fast may be sent before the typing task's first request
  # (test_typing_is_shown_while_the_llm_works covers typing during slow answers).


@pytest.mark.parametrize("data", ["fb:up:999999", "consent:maybe", "mdl:abc", "zzz"])
async def test_tampered_button_gets_a_polite_reply(telegram, run_bot, llm_model, data):
  async with run_bot():
    telegram.push_update(telegram.updates.callback(data, user_id=USER, message_id=3))
    (reply,) = await telegram.wait_sent(1, chat_id=USER)

  assert reply["text"]
  assert len(telegram.calls("answerCallbackQuery")) == 1
  assert await run_db(Feedback.objects.count) == 0


async def test_model_switching_with_the_model_command(telegram, run_bot, fake_llm, llm_model):
  # given: a second model customers may pick
  other = await run_db(_other_model, fake_llm.base_url)
  async with run_bot():
    # when: /model lists the models as buttons, the customer picks the other one
    telegram.push_update(telegram.updates.command("/model", user_id=USER))
    (menu,) = await telegram.wait_sent(1, chat_id=USER)
    assert f"mdl:{other.pk}" in buttons(menu)
    telegram.push_update(
      telegram.updates.callback(f"mdl:{other.pk}", user_id=USER, message_id=menu["message_id"])
    )
    await telegram.wait_sent(2, chat_id=USER)
    telegram.push_update(telegram.updates.text("Hi, who are you?", user_id=USER))
    await telegram.wait_sent(3, chat_id=USER)

  # then: the next question went to the other model
  assert fake_llm.chat_requests[-1]["json"]["model"] == "other-model"
  assert "fake/other" in telegram.texts(USER)[1]


def _other_model(base_url: str):
  from tests.factories import llm_model_factory

  return llm_model_factory(
    provider_model_name="fake/other",
    model="other-model",
    base_url=base_url,
    fallback_order=2,
    customer_selectable=True,
  )


async def test_a_press_too_old_to_answer_still_counts(telegram, run_bot, llm_model):
  telegram.fail(
    "answerCallbackQuery",
    status=400,
    description="Bad Request: query is too old and response timeout expired or query ID is invalid",
  )

  async with run_bot():
    telegram.push_update(telegram.updates.callback("consent:no", user_id=USER, message_id=2))
    await telegram.wait_sent(1, chat_id=USER)

  customer = await run_db(Customer.objects.get, external_id=str(USER))
  assert customer.consent == Customer.Consent.REFUSED
