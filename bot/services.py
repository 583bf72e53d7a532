"""Writes the Telegram adapter owns: taken update ids and a group's life-cycle events."""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from bot.models import ProcessedUpdate
from memory.models import Chat
from memory.services import chat_upsert

logger = logging.getLogger(__name__)

# Telegram keeps an undelivered update for 24 hours; a redelivery after two days cannot happen.
PROCESSED_UPDATE_TTL = timedelta(days=2)
PRUNE_EVERY = 500  # claims between two prunes


def processed_update_claim(*, update_id: int) -> bool:
  """Take an update id; False if it was taken before (a redelivered update)."""
  try:
    with transaction.atomic():
      ProcessedUpdate.objects.create(update_id=update_id)
  except IntegrityError:
    return False
  if update_id % PRUNE_EVERY == 0:
    processed_update_prune()
  return True


def processed_update_prune(*, older_than: timedelta = PROCESSED_UPDATE_TTL) -> int:
  """Delete ids older than `older_than`; returns how many."""
  deleted, _ = ProcessedUpdate.objects.filter(created_at__lt=timezone.now() - older_than).delete()
  if deleted:
    logger.debug("Pruned %s processed update ids", deleted)
  return deleted


def chat_membership_set(
  *,
  channel: str,
  external_id: str,
  type: str,  # noqa: A002 - the model's field name
  title: str,
  is_member: bool,
) -> Chat:
  """Record that the bot was added to (or removed from) a chat."""
  chat = chat_upsert(channel=channel, external_id=external_id, type=type, title=title)
  if chat.bot_is_member != is_member:
    chat.bot_is_member = is_member
    chat.save(update_fields=["bot_is_member", "updated_at"])
    logger.info("Bot %s chat %s (%s)", "added to" if is_member else "removed from", chat.pk, type)
  return chat


def chat_migrate(*, channel: str, old_external_id: str, new_external_id: str) -> bool:
  """A group became a supergroup with a new id: keep its history and settings under the new id.

  The supergroup may already have a chat row (its own updates were handled first): its messages
  join the group's row, which keeps the group's settings (staff and admins set them). One chat
  remains either way. False when there is nothing to move (an unknown group, or done already).
  """
  ids = {"channel": channel, "old_external_id": old_external_id, "new_external_id": new_external_id}
  try:
    return _migrate(**ids)
  except IntegrityError:  # the supergroup's row was created meanwhile: this time it is merged
    return _migrate(**ids)


def _migrate(*, channel: str, old_external_id: str, new_external_id: str) -> bool:
  with transaction.atomic():
    old = Chat.objects.select_for_update().filter(channel=channel, external_id=old_external_id)
    old = old.first()
    if old is None:
      return False
    new = Chat.objects.filter(channel=channel, external_id=new_external_id).first()
    if new is not None:
      _history_move(old, new)
      old.bot_is_member, old.title = new.bot_is_member, new.title or old.title
      old.is_forum = new.is_forum
      new.delete()
    old.external_id, old.type = new_external_id, Chat.Type.SUPERGROUP
    old.save()
  logger.info("Group chat %s migrated to a supergroup", old.pk)
  return True


def _history_move(old: Chat, new: Chat) -> None:
  """The supergroup's messages join the group's; the group's old message ids that clash with
  theirs are dropped (they numbered the old group's messages)."""
  taken = new.messages.filter(external_message_id__isnull=False).values("external_message_id")
  old.messages.filter(external_message_id__in=taken).update(external_message_id=None)
  moved = new.messages.update(chat=old)
  logger.info("Group %s migrated into chat %s: %s messages joined", old.pk, new.pk, moved)
