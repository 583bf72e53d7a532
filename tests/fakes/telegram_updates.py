"""Builders of Telegram updates (plain dicts, as the Bot API sends them) for the fake Bot API.

Every builder returns a whole update with a fresh `update_id`; pass it to
`FakeTelegramServer.push_update` (polling) or POST it to a webhook. Private chats have the user's
id as chat id; groups have negative ids.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

MEDIA = {
  "sticker": {"file_id": "st1", "file_unique_id": "st1u", "width": 512, "height": 512,
              "is_animated": False, "is_video": False, "type": "regular"},
  "photo": [{"file_id": "ph1", "file_unique_id": "ph1u", "width": 90, "height": 90}],
  "voice": {"file_id": "vo1", "file_unique_id": "vo1u", "duration": 3},
  "video": {"file_id": "vi1", "file_unique_id": "vi1u", "width": 1, "height": 1, "duration": 1},
  "video_note": {"file_id": "vn1", "file_unique_id": "vn1u", "length": 1, "duration": 1},
  "audio": {"file_id": "au1", "file_unique_id": "au1u", "duration": 1},
  "animation": {"file_id": "an1", "file_unique_id": "an1u", "width": 1, "height": 1,
                "duration": 1},
  "document": {"file_id": "do1", "file_unique_id": "do1u", "file_name": "price.pdf"},
  "location": {"latitude": 55.75, "longitude": 37.61},
  "poll": {"id": "p1", "question": "Tea?", "options": [{"text": "yes", "voter_count": 0, "persistent_id": "o1"}],
           "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
           "allows_multiple_answers": False, "allows_revoting": False,
           "members_only": False},
}  # fmt: skip


class UpdateFactory:
  """Allocates update and message ids; remembers chats so the server can describe them."""

  def __init__(self, *, bot_user: dict[str, Any], first_id: int = 10_001) -> None:
    """Update ids count from `first_id`, message ids from 40,000 above it."""
    self.bot_user = bot_user
    self._update_ids = itertools.count(first_id)
    self._message_ids = itertools.count(first_id + 40_000)
    self._lock = threading.Lock()
    self.chats: dict[int, dict[str, Any]] = {}

  # --- pieces --------------------------------------------------------------------------------
  def user(self, user_id: int, *, first_name: str = "Anna", language_code: str = "ru",
           username: str = "") -> dict[str, Any]:  # fmt: skip
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
      user["language_code"] = language_code
    if username:
      user["username"] = username
    return user

  def chat_for(self, chat_id: int) -> dict[str, Any]:
    with self._lock:
      known = self.chats.get(chat_id)
    if known:
      return dict(known)
    if chat_id > 0:
      return {"id": chat_id, "type": "private", "first_name": "Anna"}
    return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

  def _remember(self, chat: dict[str, Any]) -> dict[str, Any]:
    with self._lock:
      self.chats[chat["id"]] = chat
    return chat

  def _update(self, **payload: Any) -> dict[str, Any]:
    with self._lock:
      update_id = next(self._update_ids)
    return {"update_id": update_id, **payload}

  def message(self, *, user_id: int, chat_id: int | None = None, first_name: str = "Anna",
              language_code: str = "ru", chat: dict | None = None, **fields: Any) -> dict:  # fmt: skip
    """A message dict (not an update); `fields` go into it (text, contact, photo...)."""
    if chat is None:
      chat_id = user_id if chat_id is None else chat_id
      chat = self.chat_for(chat_id)
      if chat_id > 0:
        chat = {"id": chat_id, "type": "private", "first_name": first_name}
    self._remember(chat)
    with self._lock:
      message_id = next(self._message_ids)
    return {
      "message_id": message_id,
      "date": int(time.time()),
      "chat": chat,
      "from": self.user(user_id, first_name=first_name, language_code=language_code),
      **fields,
    }

  # --- private chat updates ------------------------------------------------------------------
  def text(self, text: str, *, user_id: int = 1001, **kwargs: Any) -> dict[str, Any]:
    return self._update(message=self.message(user_id=user_id, text=text, **kwargs))

  def command(self, command: str, *, user_id: int = 1001, **kwargs: Any) -> dict[str, Any]:
    """'/start' or '/model gpt' with a bot_command entity, as Telegram marks commands."""
    word = command.split(" ", 1)[0]
    entities = [{"type": "bot_command", "offset": 0, "length": len(word)}]
    return self.text(command, user_id=user_id, entities=entities, **kwargs)

  def contact(self, phone: str, *, user_id: int = 1001, contact_user_id: int | None = None,
              first_name: str = "Anna", **kwargs: Any) -> dict[str, Any]:  # fmt: skip
    contact = {"phone_number": phone, "first_name": first_name}
    contact["user_id"] = user_id if contact_user_id is None else contact_user_id
    message = self.message(user_id=user_id, first_name=first_name, contact=contact, **kwargs)
    return self._update(message=message)

  def media(self, kind: str, *, user_id: int = 1001, **kwargs: Any) -> dict[str, Any]:
    """A sticker, photo, voice, video, document, location, poll... message."""
    return self._update(message=self.message(user_id=user_id, **{kind: MEDIA[kind]}, **kwargs))

  def callback(self, data: str, *, user_id: int = 1001, message_id: int = 1,
               chat_id: int | None = None, language_code: str = "ru") -> dict[str, Any]:  # fmt: skip
    """A press on an inline button under the bot's message `message_id`."""
    chat_id = user_id if chat_id is None else chat_id
    message = {
      "message_id": message_id,
      "date": int(time.time()),
      "chat": self.chat_for(chat_id),
      "from": self.bot_user,
      "text": "…",
    }
    with self._lock:
      query_id = f"cq{next(self._message_ids)}"
    query = {
      "id": query_id,
      "from": self.user(user_id, language_code=language_code),
      "chat_instance": f"ci{chat_id}",
      "message": message,
      "data": data,
    }
    return self._update(callback_query=query)

  def edited(self, text: str, *, user_id: int = 1001, message_id: int = 1,
             chat_id: int | None = None) -> dict[str, Any]:  # fmt: skip
    message = self.message(user_id=user_id, chat_id=chat_id, text=text)
    message.update(message_id=message_id, edit_date=int(time.time()))
    return self._update(edited_message=message)

  # --- groups and channels -------------------------------------------------------------------
  def group_chat(self, chat_id: int, *, title: str = "Team", chat_type: str = "supergroup",
                 is_forum: bool = False) -> dict[str, Any]:  # fmt: skip
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type, "title": title}
    if is_forum:
      chat["is_forum"] = True
    return self._remember(chat)

  def group_text(self, text: str, *, chat_id: int = -100500, user_id: int = 1001,
                 first_name: str = "Anna", mention: bool = False,
                 reply_to_message_id: int | None = None, command: bool = False,
                 thread_id: int | None = None) -> dict[str, Any]:  # fmt: skip
    """A group message; `mention` prefixes @botname, `reply_to_message_id` replies to the bot."""
    chat = self.chats.get(chat_id) or self.group_chat(chat_id)
    entities = []
    if mention:
      handle = "@" + self.bot_user["username"]
      text = f"{handle} {text}"
      entities.append({"type": "mention", "offset": 0, "length": len(handle)})
    if command:
      entities.append({"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])})
    fields: dict[str, Any] = {"text": text}
    if entities:
      fields["entities"] = entities
    if reply_to_message_id is not None:
      fields["reply_to_message"] = {
        "message_id": reply_to_message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": self.bot_user,
        "text": "…",
      }
    if thread_id is not None:
      fields.update(message_thread_id=thread_id, is_topic_message=True)
    message = self.message(user_id=user_id, first_name=first_name, chat=chat, **fields)
    return self._update(message=message)

  def my_chat_member(self, chat_id: int = -100500, *, user_id: int = 1001,
                     old: str = "left", new: str = "member") -> dict[str, Any]:  # fmt: skip
    """The bot's own membership changed (added: left -> member; removed: member -> kicked)."""
    chat = self.chats.get(chat_id) or self.group_chat(chat_id)
    member = {
      "chat": chat,
      "from": self.user(user_id),
      "date": int(time.time()),
      "old_chat_member": {"user": self.bot_user, "status": old},
      "new_chat_member": {"user": self.bot_user, "status": new},
    }
    for side in ("old_chat_member", "new_chat_member"):
      if member[side]["status"] == "kicked":
        member[side]["until_date"] = 0  # banned forever
    return self._update(my_chat_member=member)

  def migrate(self, chat_id: int, new_chat_id: int, *, user_id: int = 1001) -> dict[str, Any]:
    """The service message a group sends when it becomes the supergroup `new_chat_id`."""
    chat = self.chats.get(chat_id) or self.group_chat(chat_id, chat_type="group")
    message = self.message(user_id=user_id, chat=chat, migrate_to_chat_id=new_chat_id)
    return self._update(message=message)

  def channel_post(self, text: str, *, chat_id: int = -100900) -> dict[str, Any]:
    chat = self._remember({"id": chat_id, "type": "channel", "title": "News"})
    with self._lock:
      message_id = next(self._message_ids)
    post = {"message_id": message_id, "date": int(time.time()), "chat": chat, "text": text}
    return self._update(channel_post=post)
