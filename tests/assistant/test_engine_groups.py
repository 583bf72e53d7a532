"""The engine in groups: the admins' switch, allow-lists, group commands, contacts, scoped state."""

import asyncio

import pytest
from django.utils import translation

from assistant.conversation.context import GROUP_STATES
from assistant.conversation.deeplinks import group_payload, payload_group
from assistant.conversation.groups import group_welcome, not_allowed_text
from assistant.engine import group_joined
from assistant.types import ChatRef, TurnKind
from leads.models import Customer, Lead
from memory.models import Chat, Message
from tests.assistant.engine_helpers import (
  agree,
  customer,
  data_of,
  make_turn,
  press,
  run,
  say,
  scenario_factory,
)
from tests.factories import service_factory

pytestmark = pytest.mark.django_db(transaction=True)

BOT = "assistant_test_bot"
GROUP = ChatRef(external_id="-100", type="supergroup", title="Bakers")
ANNA, BORIS = "501", "502"


def in_group(text: str, *, user: str = ANNA, **fields):
  fields.setdefault("first_name", {ANNA: "Anna", BORIS: "Boris"}[user])
  return say(text, user=user, chat=GROUP, bot_username=BOT, **fields)


def press_in_group(data: str, *, user: str = ANNA):
  return press(data, user=user, chat=GROUP, bot_username=BOT)


def group() -> Chat:
  return Chat.objects.get(external_id=GROUP.external_id)


def en(text_of) -> str:
  with translation.override("en"):
    return text_of()


def urls_of(reply) -> list[str]:
  return [button.url for row in reply.buttons for button in row]


# --- the admins' switch, the allow-list -----------------------------------------------------------
def test_only_group_admins_switch_the_bot_off_and_on(fake_llm, llm_model):
  # given
  in_group("hi", addressed=False)

  # when: a member tries, then an admin switches it off, someone asks, the admin switches it on
  refused = in_group("/bot_off", user=BORIS)
  off = in_group("/bot_off", is_group_admin=True)
  ignored = in_group("anyone?", user=BORIS)
  stored_while_off = Message.objects.count()
  on = in_group("/bot_on", is_group_admin=True)
  answered = in_group("now?", user=BORIS)

  # then
  assert [r.text for r in refused] == ["Only the group's administrators can switch me on or off."]
  assert off[0].text.startswith("Done: I'm switched off in this group.")
  assert ignored == []
  assert stored_while_off == 1  # only the message from before: nothing read while off
  assert on[0].text == "I'm on in this group. Mention me or reply to my message to ask a question."
  assert answered[0].text == "Fake answer."
  assert group().bot_enabled is True
  assert all(reply.message_id is None for reply in [*refused, *off, *on])  # not stored


def test_switching_on_a_group_the_business_has_not_allowed_says_so():
  in_group("/help")
  Chat.objects.update(allowed=False)

  (on,) = in_group("/bot_on", is_group_admin=True)

  assert on.text.endswith("The business hasn't allowed me in this group yet, so I'll stay silent.")


def test_switch_commands_in_a_private_chat_explain_themselves():
  (reply,) = say("/bot_off")

  assert reply.text.startswith("This command is for group administrators")


def test_a_group_not_allowed_is_told_once_and_nothing_is_stored(settings, fake_llm, llm_model):
  # given: allow-list mode, a group nobody allowed
  settings.GROUPS_ALLOWLIST_ONLY = True

  # when
  chatter = in_group("small talk", addressed=False)
  first = in_group("hello?")
  second = in_group("hello??", user=BORIS)

  # then
  assert chatter == [] and second == []
  assert [r.text for r in first] == [en(not_allowed_text)]
  assert (group().allowed, group().not_allowed_notice_sent) == (False, True)
  assert Message.objects.count() == 0
  assert Customer.objects.count() == 0  # not even who wrote
  assert fake_llm.chat_requests == []


def test_once_allowed_the_notice_is_reset_for_next_time(settings, fake_llm, llm_model):
  settings.GROUPS_ALLOWLIST_ONLY = True
  in_group("hello?")
  Chat.objects.update(allowed=True)

  replies = in_group("hello again")

  assert replies[0].text == "Fake answer."
  assert group().not_allowed_notice_sent is False


def test_outside_allow_list_mode_new_groups_are_allowed_but_staff_can_disallow():
  in_group("/help")
  assert group().allowed is True
  Chat.objects.update(allowed=False)

  assert [r.text for r in in_group("/help")] == [en(not_allowed_text)]


def test_a_message_from_the_group_means_the_bot_is_a_member():
  in_group("/help")
  Chat.objects.update(bot_is_member=False)

  in_group("hello", addressed=False)

  assert group().bot_is_member is True


# --- joining ---------------------------------------------------------------------------------------
def test_a_hello_when_added_is_stored_for_the_transcript():
  Chat.objects.create(external_id="-100", type="supergroup", title="Bakers")

  (hello,) = asyncio.run(group_joined(channel="telegram", chat=GROUP, language_code="en"))

  assert hello.text.startswith("Hello, everyone! I'm the business's assistant.")
  stored = Message.objects.get(pk=hello.message_id)
  assert (stored.role, stored.customer, stored.text) == ("assistant", None, hello.text)


def test_no_hello_in_a_group_switched_off_or_unknown_and_a_notice_when_not_allowed():
  assert group_welcome(channel="telegram", chat=GROUP) == []  # not recorded
  chat = Chat.objects.create(external_id="-100", type="supergroup", bot_enabled=False)
  assert group_welcome(channel="telegram", chat=GROUP) == []
  Chat.objects.filter(pk=chat.pk).update(bot_enabled=True, allowed=False)

  (notice,) = group_welcome(channel="telegram", chat=GROUP, language_code="en")

  assert notice.text == en(not_allowed_text)
  assert Chat.objects.get(pk=chat.pk).not_allowed_notice_sent is True
  assert Message.objects.count() == 0


# --- group commands --------------------------------------------------------------------------------
def test_start_in_a_group_greets_by_first_name_and_links_the_private_chat():
  # given: Anna told us her full name privately
  agree(user=ANNA)
  say("my name is Anna Karenina", user=ANNA)
  assert customer(ANNA).display_name == "Anna Karenina"

  # when
  (reply,) = in_group("/start")

  # then: her public first name only, no consent request, a link to the private chat
  assert reply.text.startswith("Hello, Anna! I am the virtual assistant.")
  assert "Karenina" not in reply.text
  assert "In this group I answer when you mention me" in reply.text
  (url,) = urls_of(reply)
  assert url == f"https://t.me/{BOT}?start={group_payload('group', group())}"


def test_help_in_a_group_without_a_known_bot_handle_has_no_link():
  (reply,) = say("/help", chat=GROUP, user=ANNA)

  assert reply.text.startswith("In this group I answer when you mention me")
  assert reply.buttons == []


def test_ask_sends_the_question_to_the_llm(fake_llm, llm_model):
  (answer,) = in_group("/ask do you bake rye bread?")
  (hint,) = in_group("/ask")
  say("/ask and in private?")

  assert answer.text == "Fake answer."
  assert hint.text.startswith("Write your question after /ask")
  asked = [r["json"]["messages"][-1]["content"] for r in fake_llm.chat_requests]
  assert asked == ["Anna: do you bake rye bread?", "and in private?"]


def test_forget_in_a_group_deletes_only_the_senders_group_messages():
  # given: Anna talks privately and in the group, Boris in the group
  say("private words", user=ANNA)
  in_group("group words", addressed=False)
  in_group("more group words", addressed=False)
  in_group("boris words", user=BORIS, addressed=False)

  # when: Anna asks; Boris presses her "yes"; Anna first says no, then yes
  (confirm,) = in_group("/forget")
  by_boris = press_in_group("forget:yes", user=BORIS)
  in_group("/forget")
  (kept,) = press_in_group("forget:no")
  in_group("/forget")
  (done,) = press_in_group("forget:yes")

  # then
  assert "(3)" in confirm.text and "send /forget to me privately" in confirm.text
  assert data_of(confirm) == ["forget:yes", "forget:no"]
  assert by_boris == []
  assert kept.text == "OK, nothing was deleted."
  assert done.text.startswith("Done: I've deleted your messages in this group (")
  left = set(Message.objects.filter(role="user").values_list("text", flat=True))
  assert left == {"private words", "boris words", "forget:yes"}  # Boris's press is his own
  assert GROUP_STATES not in customer(ANNA).state
  assert Message.objects.filter(chat=group(), customer=customer(ANNA)).count() == 0


def test_a_stale_or_foreign_button_in_a_group_is_ignored_silently():
  assert press_in_group("fb:up:999") == []
  assert press_in_group("consent:yes") == []  # consent is asked in private only
  assert press("fb:up:999")[0].text.startswith("This button is outdated.")
  assert customer(ANNA).consent == Customer.Consent.UNKNOWN


# --- contacts and private data ---------------------------------------------------------------------
def test_a_phone_typed_in_a_group_is_masked_and_the_private_chat_offered(fake_llm, llm_model):
  # given: Anna gave consent in private (a contact would be saved there)
  agree(user=ANNA)

  # when
  (moved,) = in_group("call me: +7 912 345-67-89 or anna@example.com")
  asked = in_group("is +7 912 345-67-89 the right number to order a cake for Sunday?")

  # then: nothing saved, nothing kept; the question itself is still answered
  assert moved.text.startswith("Anna, please don't post phone numbers or e-mails in the group")
  (url,) = urls_of(moved)
  assert url.startswith(f"https://t.me/{BOT}?start=contact_")
  assert payload_group(url.split("=", 1)[1]) == ("contact", group())
  assert [r.text for r in asked][1] == "Fake answer."
  rows = Message.objects.filter(chat=group(), role="user").order_by("id")
  texts = list(rows.values_list("text", flat=True))
  assert texts == [
    "call me: [phone] or [e-mail]",
    "is [phone] the right number to order a cake for Sunday?",
  ]
  assert (customer(ANNA).phone, customer(ANNA).email, Lead.objects.count()) == ("", "", 0)
  assert "912" not in str(fake_llm.chat_requests[0]["json"])


def test_a_shared_contact_in_a_group_is_not_saved():
  agree(user=ANNA)

  replies = run(
    make_turn(
      kind=TurnKind.CONTACT,
      contact_phone="+79123456789",
      contact_user_id=ANNA,
      user=ANNA,
      chat=GROUP,
      bot_username=BOT,
    )
  )

  assert replies[0].text.startswith("Anna, please don't post phone numbers")
  assert replies[0].request_contact == ""
  assert customer(ANNA).phone == ""
  assert Message.objects.get(chat=group(), role="user").text == ""


def test_interest_in_a_group_starts_a_lead_named_after_the_group_and_links_private():
  service_factory(slug="cake", language="en", name="Cake")

  replies = press_in_group("int:cake")

  assert Lead.objects.get().source == "group: Bakers"
  assert urls_of(replies[-1])[0].startswith(f"https://t.me/{BOT}?start=contact_")


def test_no_llm_in_a_group_points_to_the_private_chat(settings):
  (reply,) = in_group("what about a wedding cake?")

  assert reply.text.startswith("I can't answer that right now. Write to me privately")
  assert urls_of(reply)[0].startswith(f"https://t.me/{BOT}?start=contact_")
  assert Message.objects.get(pk=reply.message_id).is_fallback is True


def test_group_state_stays_in_its_group(fake_llm, llm_model):
  # given: a questionnaire started in the group, free feedback awaited in private
  scenario_factory()
  press_in_group("scn:budget")
  say("/feedback", user=ANNA)

  # when: Anna writes in private, then answers in the group
  private = say("the bot is great", user=ANNA)
  answer = in_group("A website, please")

  # then: each went where it belongs
  assert private[0].text.startswith("Thank you")
  assert answer[0].text.startswith("(2/3)")
  state = customer(ANNA).state
  group_state = state[GROUP_STATES][str(group().pk)]
  assert group_state["scenario"] == {"key": "budget", "step": 1}
  assert "scenario" not in state
  assert Lead.objects.get().answers == {"goal": "A website, please"}
  assert Lead.objects.get().source == "group: Bakers"


def test_unaddressed_group_talk_does_not_count_as_flood(settings, fake_llm, llm_model):
  settings.FLOOD_MAX_MESSAGES = 2
  for n in range(4):
    in_group(f"chat {n}", addressed=False)

  assert in_group("question?")[0].text == "Fake answer."


def test_the_group_prompt_uses_no_private_data(fake_llm, llm_model):
  # given: Anna's contact and full name are known from the private chat
  agree(user=ANNA)
  say("my name is Anna Karenina, +7 912 345-67-89", user=ANNA)

  # when
  in_group("what do you recommend?")

  # then
  system = fake_llm.chat_requests[-1]["json"]["messages"][0]["content"]
  assert "You are answering Anna: address them by their first name." in system
  assert "Karenina" not in system and "9123456789" not in system
  assert "never ask for, repeat or guess phone numbers" in system
  assert "We already have the customer's contact details" not in system
