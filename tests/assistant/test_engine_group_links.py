"""Links from a group to the private chat (signed /start payloads) and edited messages."""

import asyncio
import logging

import pytest

from assistant.conversation.deeplinks import group_payload, payload_group
from assistant.engine import handle_edit
from assistant.types import ChatRef, TurnKind
from leads.models import Lead
from memory.models import Chat, Message
from tests.assistant.engine_helpers import agree, customer, data_of, make_turn, press, say, share
from tests.factories import chat_factory

pytestmark = pytest.mark.django_db(transaction=True)

GROUP = ChatRef(external_id="-100", type="supergroup", title="Bakers")


@pytest.fixture
def bakers() -> Chat:
  return chat_factory(external_id="-100", type="supergroup", title="Bakers")


# --- payloads --------------------------------------------------------------------------------------
def test_payloads_are_signed_and_fit_telegrams_limit(bakers):
  payload = group_payload("contact", bakers)

  assert len(payload) <= 64
  assert payload_group(payload) == ("contact", bakers)
  assert payload_group(group_payload("group", bakers)) == ("group", bakers)


@pytest.mark.parametrize(
  "tamper",
  [
    lambda p: p[:-1] + ("0" if p[-1] != "0" else "1"),  # signature changed
    lambda p: p.replace("contact_", "contact_f"),  # another chat id, same signature
    lambda p: "promo42",
    lambda p: p.replace("contact", "lead"),
  ],
)
def test_a_tampered_payload_names_no_group(bakers, tamper):
  assert payload_group(tamper(group_payload("contact", bakers))) is None


def test_a_payload_of_a_private_chat_or_a_deleted_group_names_none():
  private = chat_factory(type="private")
  gone = chat_factory(type="group")
  payload = group_payload("contact", gone)
  gone.delete()

  assert payload_group(group_payload("contact", private)) is None
  assert payload_group(payload) is None


# --- /start with a group's link --------------------------------------------------------------------
def test_contact_link_asks_consent_then_the_phone_and_the_lead_names_the_group(bakers):
  # when: the button from the group opens the private chat
  greeting, consent = say(f"/start {group_payload('contact', bakers)}")
  (ask,) = press("consent:yes")
  share("+79123456789")

  # then
  assert "You came from the group “Bakers”." in greeting.text
  assert data_of(consent) == ["consent:yes", "consent:no"]
  assert ask.request_contact == "📱 Share my phone"
  lead = Lead.objects.get()
  assert (lead.source, lead.phone) == ("group: Bakers", "+79123456789")


def test_contact_link_with_consent_given_asks_for_the_phone_at_once(bakers):
  agree()

  greeting, ask = say(f"/start {group_payload('contact', bakers)}")

  assert greeting.text.startswith("Hello, Anna!")
  assert ask.text.startswith("You came from the group “Bakers”.")
  assert ask.request_contact == "📱 Share my phone"


def test_contact_link_when_the_contact_is_known_records_the_lead(bakers):
  agree()
  share("+79123456789")
  Lead.objects.all().delete()

  (reply,) = say(f"/start {group_payload('contact', bakers)}")

  assert "We already have your contact" in reply.text
  assert Lead.objects.get().source == "group: Bakers"


def test_group_link_greets_as_usual_with_the_group_as_source(bakers):
  say(f"/start {group_payload('group', bakers)}")

  assert customer().state["source"] == "group: Bakers"


def test_a_forged_link_is_an_ordinary_payload(bakers):
  forged = group_payload("contact", bakers)[:-2] + "zz"

  say(f"/start {forged}")

  assert customer().state["source"] == forged[:40]


# --- edits -----------------------------------------------------------------------------------------
def edit(text: str, *, chat: ChatRef | None = None, message_id: int = 7, **fields) -> bool:
  turn = make_turn(text, chat=chat, external_message_id=message_id, **fields)
  return asyncio.run(handle_edit(turn))


def test_an_edit_replaces_the_stored_text_masking_contacts_without_consent():
  say("I want a cake", external_message_id=7)

  assert edit("I want a cake, call +7 912 345-67-89") is True

  stored = Message.objects.get(role="user")
  assert stored.text == "I want a cake, call [phone]"
  assert stored.edited_at is not None


def test_an_edit_keeps_contacts_in_private_with_consent_and_masks_them_in_groups():
  agree()
  say("I want a cake", external_message_id=7)
  say("cakes?", chat=GROUP, external_message_id=8, addressed=False)

  edit("call +7 912 345-67-89")
  edit("mail me: a@example.com", chat=GROUP, message_id=8)

  texts = dict(Message.objects.filter(role="user").values_list("external_message_id", "text"))
  assert texts[7] == "call +7 912 345-67-89"
  assert texts[8] == "mail me: [e-mail]"


def test_edits_of_unknown_messages_chats_or_kinds_change_nothing():
  say("hello", external_message_id=7)

  assert edit("x", message_id=99) is False
  assert edit("x", chat=ChatRef(external_id="-999", type="group")) is False
  assert edit("x", kind=TurnKind.CONTACT) is False
  assert edit("x", message_id=None) is False
  assert Message.objects.get(role="user").text == "hello"


def test_a_failing_edit_is_logged_not_raised(caplog, monkeypatch):
  import assistant.engine as engine

  def broken(turn):
    raise RuntimeError("database is gone")

  monkeypatch.setattr(engine, "edit_apply", broken)
  caplog.set_level(logging.ERROR, logger="assistant.engine")

  assert edit("x") is False
  assert "Storing an edit from telegram user 501 failed" in caplog.text
