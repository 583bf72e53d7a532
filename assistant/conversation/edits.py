"""Edited messages: the stored text follows the edit; the answer to the original stands."""

import logging

from assistant.conversation.inputs import text_clean
from assistant.types import Turn, TurnKind
from leads.contacts import contacts_mask
from leads.models import Customer
from memory.models import Chat
from memory.services import message_edit

logger = logging.getLogger(__name__)


def edit_apply(turn: Turn) -> bool:
  """Store the new text of an edited message; False when that message is not stored.

  An edit never captures a contact: phones and e-mails in it are masked in groups and, without
  the customer's consent, in private chats too (as they were in the original).
  """
  if turn.kind not in {TurnKind.TEXT, TurnKind.UNSUPPORTED} or turn.external_message_id is None:
    return False
  chat = Chat.objects.filter(channel=turn.channel, external_id=turn.chat.external_id).first()
  if chat is None:
    return False
  text = text_clean(turn.text)
  if chat.type != Chat.Type.PRIVATE or not _consented(turn):
    text, _masked = contacts_mask(text)
  message = message_edit(chat=chat, external_message_id=turn.external_message_id, text=text)
  if message is None:
    return False
  logger.debug("Message #%s edited in chat #%s", message.pk, chat.pk)
  return True


def _consented(turn: Turn) -> bool:
  return Customer.objects.filter(
    channel=turn.channel, external_id=turn.sender.external_id, consent=Customer.Consent.GIVEN
  ).exists()
