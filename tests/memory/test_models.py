import pytest
from django.utils import translation

from memory.models import Chat, Message


def test_chat_str_is_its_title_or_type_and_id():
  with translation.override("en"):
    assert str(Chat(title="Team", external_id="-100")) == "Team"
    assert str(Chat(type=Chat.Type.GROUP, external_id="-100")) == "group -100"


def test_message_str_shows_role_and_the_start_of_the_text():
  with translation.override("en"):
    assert str(Message(role=Message.Role.ASSISTANT, text="x" * 100)) == "assistant: " + "x" * 60


@pytest.mark.django_db
def test_message_lookups_by_chat_or_customer_use_the_composite_indexes_only():
  # given
  from django.db import connection

  with connection.cursor() as cursor:
    indexes = connection.introspection.get_constraints(cursor, "memory_message")

  # when
  columns = {name: tuple(info["columns"]) for name, info in indexes.items() if info["index"]}

  # then: no single-column chat/customer index (inserts skip them), the leading ones remain
  assert ("chat_id",) not in columns.values()
  assert ("customer_id",) not in columns.values()
  assert columns["message_chat_recent_idx"][0] == "chat_id"
  assert columns["message_customer_recent_idx"][0] == "customer_id"
