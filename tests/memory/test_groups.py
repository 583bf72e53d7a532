"""Group memory: participants' names, the shared context lines, erasing one's group messages."""

import pytest

from memory.groups import SHARED_LINE_CHARS, shared_line
from memory.models import Chat, Message
from memory.selectors import context_build, participant_name
from memory.services import chat_upsert, customer_forget_chat, message_edit
from tests.factories import chat_factory, customer_factory, message_factory

pytestmark = pytest.mark.django_db


def test_participant_name_is_the_public_first_name_never_a_name_given_privately():
  assert participant_name(customer_factory(first_name="Anna", display_name="Anna K.")) == "Anna"
  assert participant_name(customer_factory(first_name="", username="bob")) == "@bob"
  nobody = customer_factory(first_name="", username="")
  assert participant_name(nobody) == f"#{nobody.pk}"


def test_shared_lines_say_who_spoke_to_whom():
  group = chat_factory(type=Chat.Type.GROUP)
  bob = customer_factory(first_name="Bob")

  def line(**fields) -> str:
    return shared_line(message_factory(chat=group, **fields))

  assert line(customer=bob, text="hi") == "Bob: hi"
  assert line(customer=bob, role=Message.Role.ASSISTANT, text="Hello!") == "assistant → Bob: Hello!"
  assert line(customer=None, role=Message.Role.ASSISTANT, text="Hi all") == "assistant: Hi all"
  assert line(customer=bob, role=Message.Role.OPERATOR, text="On it") == "manager: On it"
  assert line(customer=bob, kind="photo", text="") == "Bob: [sent a photo]"
  assert line(customer=bob, text="   ") == ""
  long = line(customer=bob, text="x" * 500)
  assert len(long) == SHARED_LINE_CHARS and long.endswith("…")


def test_shared_context_is_the_latest_few_of_this_group_and_topic(settings):
  # given
  settings.GROUP_SHARED_CONTEXT_MESSAGES = 2
  forum = chat_factory(type=Chat.Type.SUPERGROUP, is_forum=True)
  anna, bob = customer_factory(first_name="Anna"), customer_factory(first_name="Bob")
  for n in range(4):
    message_factory(chat=forum, customer=bob, text=f"topic 5 #{n}", thread_id=5)
  message_factory(chat=forum, customer=bob, text="topic 6", thread_id=6)
  message_factory(chat=forum, customer=bob, text="notice", role=Message.Role.SYSTEM, thread_id=5)
  message_factory(chat=chat_factory(type=Chat.Type.GROUP), customer=bob, text="elsewhere")

  # when
  context = context_build(customer=anna, chat=forum, query="", thread_id=5)

  # then
  assert context.shared == ["Bob: topic 5 #2", "Bob: topic 5 #3"]
  assert context.history == []
  assert context.tokens > 0


def test_no_shared_context_when_switched_off_or_in_private(settings, customer):
  group, private = chat_factory(type=Chat.Type.GROUP), chat_factory()
  message_factory(chat=group, customer=customer_factory(), text="hi")
  message_factory(chat=private, customer=customer, text="hi")

  assert context_build(customer=customer, chat=private, query="").shared == []
  settings.GROUP_SHARED_CONTEXT_MESSAGES = 0
  assert context_build(customer=customer, chat=group, query="").shared == []


def test_forgetting_one_group_keeps_everything_else(customer):
  # given
  group, other, private = (chat_factory(type="group"), chat_factory(type="group"), chat_factory())
  bob = customer_factory()
  message_factory(chat=group, customer=customer, text="mine")
  message_factory(chat=group, customer=customer, role=Message.Role.ASSISTANT, text="to me")
  message_factory(chat=group, customer=bob, text="his")
  message_factory(chat=other, customer=customer, text="mine elsewhere")
  message_factory(chat=private, customer=customer, text="private")

  # when
  counts = customer_forget_chat(customer=customer, chat=group)

  # then
  assert counts == {"messages": 2}
  assert set(Message.objects.values_list("text", flat=True)) == {
    "his",
    "mine elsewhere",
    "private",
  }


def test_message_edit_of_an_unknown_message_is_none():
  assert message_edit(chat=chat_factory(), external_message_id=1, text="x") is None


def test_allow_list_mode_creates_groups_not_allowed_but_private_chats_allowed(settings):
  settings.GROUPS_ALLOWLIST_ONLY = True

  group = chat_upsert(channel="telegram", external_id="-1", type="group")
  private = chat_upsert(channel="telegram", external_id="1")

  assert (group.allowed, private.allowed) == (False, True)
