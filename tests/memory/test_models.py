from django.utils import translation

from memory.models import Chat, Message


def test_chat_str_is_its_title_or_type_and_id():
  with translation.override("en"):
    assert str(Chat(title="Team", external_id="-100")) == "Team"
    assert str(Chat(type=Chat.Type.GROUP, external_id="-100")) == "group -100"


def test_message_str_shows_role_and_the_start_of_the_text():
  with translation.override("en"):
    assert str(Message(role=Message.Role.ASSISTANT, text="x" * 100)) == "assistant: " + "x" * 60
