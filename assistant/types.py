"""Channel-agnostic types the conversation engine takes and returns (no Telegram types here)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum


class TurnKind(StrEnum):
  TEXT = "text"  # a typed message (also commands: "/start", "/services"...)
  CONTACT = "contact"  # a shared phone contact (contact_phone is set)
  BUTTON = "button"  # an inline button press (callback_data is set)
  UNSUPPORTED = "unsupported"  # sticker, photo, voice, document, location... (media_type is set)


@dataclass(frozen=True)
class Sender:
  """Who wrote: a person on a channel."""

  external_id: str
  username: str = ""
  first_name: str = ""
  last_name: str = ""
  language_code: str = ""  # as the channel reports it (Telegram's language_code), may be empty


@dataclass(frozen=True)
class ChatRef:
  """Where it was written."""

  external_id: str
  type: str = "private"  # private | group | supergroup | channel
  title: str = ""
  thread_id: int | None = None  # forum topic
  is_forum: bool = False


@dataclass(frozen=True)
class Turn:
  """One inbound event for the engine."""

  channel: str  # "telegram", "console", ...
  sender: Sender
  chat: ChatRef
  kind: TurnKind = TurnKind.TEXT
  text: str = ""
  contact_phone: str = ""
  contact_user_id: str = ""  # whose contact it is (Telegram fills it; must equal the sender's id)
  callback_data: str = ""
  media_type: str = ""
  external_message_id: int | None = None
  update_id: int | None = None
  reply_to_external_id: int | None = None  # the message this one replies to
  addressed: bool = True  # in groups: mention, reply to the bot or command
  # In groups: the channel confirmed the sender administers the group (checked for /bot_on,
  # /bot_off only; False when unchecked).
  is_group_admin: bool = False
  bot_username: str = ""  # the bot's own handle on the channel, for links to a private chat


@dataclass(frozen=True)
class Button:
  """An inline button; `data` comes back as Turn.callback_data (<= 64 bytes)."""

  text: str
  data: str = ""
  url: str = ""


@dataclass
class Reply:
  """One outbound message the channel adapter sends."""

  text: str
  buttons: list[list[Button]] = field(default_factory=list)  # inline keyboard rows
  request_contact: str = ""  # label of a "share phone" reply-keyboard button, if any
  remove_keyboard: bool = False
  message_id: int | None = None  # the stored Message.pk, so the adapter can record its own id
  streamed: bool = False  # the text was already shown through the stream callback


# Called with the full text so far while the LLM streams; the adapter edits its message.
StreamCallback = Callable[[str], Awaitable[None]]
