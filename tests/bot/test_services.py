from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from bot.models import ProcessedUpdate
from bot.services import (
  PRUNE_EVERY,
  chat_membership_set,
  chat_migrate,
  processed_update_claim,
  processed_update_prune,
)
from memory.models import Chat
from tests.factories import chat_factory, message_factory

pytestmark = pytest.mark.django_db


def test_update_id_is_claimed_once():
  assert processed_update_claim(update_id=11) is True
  assert processed_update_claim(update_id=11) is False
  assert [str(row) for row in ProcessedUpdate.objects.all()] == ["11"]


def test_prune_deletes_only_old_ids():
  # given
  processed_update_claim(update_id=1)
  processed_update_claim(update_id=2)
  ProcessedUpdate.objects.filter(update_id=1).update(created_at=timezone.now() - timedelta(days=3))

  # when
  deleted = processed_update_prune()

  # then
  assert deleted == 1
  assert list(ProcessedUpdate.objects.values_list("update_id", flat=True)) == [2]


def test_every_nth_claim_prunes():
  processed_update_claim(update_id=3)
  ProcessedUpdate.objects.update(created_at=timezone.now() - timedelta(days=3))

  processed_update_claim(update_id=PRUNE_EVERY * 7)

  assert list(ProcessedUpdate.objects.values_list("update_id", flat=True)) == [PRUNE_EVERY * 7]


def test_membership_is_recorded_for_new_and_known_chats():
  # when
  added = chat_membership_set(
    channel="telegram", external_id="-100", type="supergroup", title="Team", is_member=True
  )
  removed = chat_membership_set(
    channel="telegram", external_id="-100", type="supergroup", title="Team", is_member=False
  )

  # then
  assert added.pk == removed.pk
  assert Chat.objects.get(pk=added.pk).bot_is_member is False
  assert Chat.objects.get(pk=added.pk).title == "Team"


def test_migration_moves_the_history_to_the_new_id():
  chat = chat_factory(external_id="-42", type=Chat.Type.GROUP)
  message_factory(chat=chat, text="old talk")

  assert chat_migrate(channel="telegram", old_external_id="-42", new_external_id="-10042") is True

  chat.refresh_from_db()
  assert (chat.external_id, chat.type) == ("-10042", Chat.Type.SUPERGROUP)
  assert chat.messages.get().text == "old talk"


def test_migration_replaces_an_empty_new_chat_keeping_its_membership():
  old = chat_factory(external_id="-1", type=Chat.Type.GROUP, store_mode=Chat.StoreMode.ADDRESSED)
  chat_factory(external_id="-1001", bot_is_member=False)

  assert chat_migrate(channel="telegram", old_external_id="-1", new_external_id="-1001") is True

  chat = Chat.objects.get(external_id="-1001")
  assert (chat.pk, chat.bot_is_member, chat.store_mode) == (old.pk, False, "addressed")
  assert Chat.objects.count() == 1


def test_migration_merges_a_supergroup_that_already_has_history():
  # given: the supergroup's first message was stored before the group's migration message
  old = chat_factory(external_id="-1", type=Chat.Type.GROUP, title="Old", bot_enabled=False)
  clash = message_factory(chat=old, text="old 5", external_message_id=5)
  message_factory(chat=old, text="old 6", external_message_id=6)
  new = chat_factory(external_id="-1001", type=Chat.Type.SUPERGROUP, title="New")
  message_factory(chat=new, text="new 5", external_message_id=5)

  # when
  moved = chat_migrate(channel="telegram", old_external_id="-1", new_external_id="-1001")

  # then: one chat with both histories and the group's settings; clashing old ids dropped
  assert moved is True
  chat = Chat.objects.get()
  assert (chat.pk, chat.external_id, chat.title, chat.bot_enabled) == (
    old.pk,
    "-1001",
    "New",
    False,
  )
  texts = dict(chat.messages.values_list("text", "external_message_id"))
  assert texts == {"old 5": None, "old 6": 6, "new 5": 5}
  assert not Chat.objects.filter(pk=new.pk).exists()
  clash.refresh_from_db()
  assert clash.chat_id == old.pk


def test_migration_of_an_unknown_or_migrated_group_does_nothing():
  chat_factory(external_id="-1001", type=Chat.Type.SUPERGROUP)

  assert chat_migrate(channel="telegram", old_external_id="-7", new_external_id="-1007") is False
  assert chat_migrate(channel="telegram", old_external_id="-1", new_external_id="-1001") is False
  assert Chat.objects.count() == 1


def test_migration_racing_the_supergroups_first_message_is_retried_as_a_merge(monkeypatch):
  # given: the supergroup's row appears between the look-up and the rename (a parallel update)
  import bot.services as services

  old = chat_factory(external_id="-1", type=Chat.Type.GROUP)
  attempts = []
  real = services._migrate

  def racing(**ids):
    attempts.append(ids)
    if len(attempts) == 1:
      message_factory(chat=chat_factory(external_id="-1001"), text="first in supergroup")
      raise IntegrityError("chat_channel_external_uniq")
    return real(**ids)

  monkeypatch.setattr(services, "_migrate", racing)

  # when / then
  assert chat_migrate(channel="telegram", old_external_id="-1", new_external_id="-1001") is True
  assert len(attempts) == 2
  assert Chat.objects.get().pk == old.pk
  assert Chat.objects.get().messages.get().text == "first in supergroup"
