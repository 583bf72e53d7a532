"""Links from a group to the private chat: `t.me/<bot>?start=contact_<token>`.

Contacts are never asked for in a group. A button opens the private chat with a /start payload
naming the group, so the lead records where the person came from. The token is the chat's id
signed with SECRET_KEY (nothing stored; a forged or edited payload is just an ordinary /start):

    contact_1f-3a9c0e5b7d21   →  the contact request, lead source "group: Bakers"
    group_1f-3a9c0e5b7d21     →  the usual greeting, lead source "group: Bakers"
"""

import re

from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from assistant.conversation.context import TurnContext
from assistant.types import Button, Reply
from memory.models import Chat

CONTACT = "contact"  # open the contact request
GROUP = "group"  # open the usual greeting
_PAYLOAD = re.compile(r"(contact|group)_([0-9a-f]{1,16})-([0-9a-f]{12})")
_SALT = "assistant.conversation.deeplinks"


def group_payload(kind: str, chat: Chat) -> str:
  """The /start payload of a link from `chat` (at most 64 characters, as Telegram requires)."""
  return f"{kind}_{chat.pk:x}-{_signature(chat.pk)}"


def payload_group(payload: str) -> tuple[str, Chat] | None:
  """(kind, group chat) for a valid payload made by `group_payload`; None otherwise."""
  match = _PAYLOAD.fullmatch(payload)
  if match is None:
    return None
  kind, pk = match.group(1), int(match.group(2), 16)
  if not constant_time_compare(match.group(3), _signature(pk)):
    return None
  chat = Chat.objects.filter(pk=pk).exclude(type=Chat.Type.PRIVATE).first()
  return (kind, chat) if chat is not None else None


def private_chat_button(ctx: TurnContext, kind: str = CONTACT) -> list[list[Button]]:
  """One row with a link button to the private chat, or none if the bot's handle is unknown."""
  username = ctx.turn.bot_username
  if not username:
    return []
  url = f"https://t.me/{username}?start={group_payload(kind, ctx.chat)}"
  return [[Button(text=_("💬 Write to me privately"), url=url)]]


def contact_invite(ctx: TurnContext, text: str = "") -> list[Reply]:
  """In a group: invite the person to leave their contact in the private chat, not here."""
  text = text or _(
    "To leave your phone or e-mail, write to me in a private chat: only our team will see it "
    "there, not the group."
  )
  return [Reply(text=text, buttons=private_chat_button(ctx))]


def _signature(pk: int) -> str:
  return salted_hmac(_SALT, str(pk)).hexdigest()[:12]
