"""A fake Telegram Bot API server for tests: real sockets, real python-telegram-bot, scripted failures.

    server = FakeTelegramServer().start()
    app = build_application(token=server.token, base_url=server.base_url)
    server.push_update(server.updates.command("/start", user_id=42))   # served by getUpdates
    sent = await server.wait_sent(1)                                   # what the bot sent
    server.fail("sendMessage", status=429, retry_after=1)              # next sendMessage is limited
    server.requests                                                    # every call: method, params
    server.stop()

Semantics follow the real API where tests depend on them: getUpdates long-polls for `timeout`
seconds and confirms updates below `offset` (so a restarted bot gets what it did not confirm);
`allowed_updates` filters update types; editMessageText answers 400 "message is not modified"
when nothing changes and 400 "message to edit not found" for an unknown message.
Update builders live in tests/fakes/telegram_updates.py (`server.updates`).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.telegram_updates import UpdateFactory

DEFAULT_TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklm"
BOT_USER = {
  "id": 123456789,
  "is_bot": True,
  "first_name": "Assistant",
  "username": "assistant_test_bot",
  "can_join_groups": True,
  "can_read_all_group_messages": False,
  "supports_inline_queries": False,
}
# PTB sends strings raw and everything else JSON-encoded; these fields are always strings.
_STRING_FIELDS = {
  "text",
  "caption",
  "callback_query_id",
  "url",
  "secret_token",
  "parse_mode",
  "action",
  "language_code",
  "inline_message_id",
  "ip_address",
  "scope_type",
}
# What an "administrator" chat member carries besides its status and user.
ADMIN_RIGHTS = {
  "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
  "can_delete_messages": True, "can_manage_video_chats": True, "can_restrict_members": True,
  "can_promote_members": False, "can_change_info": True, "can_invite_users": True,
  "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False,
}  # fmt: skip
_MESSAGE_METHODS = {"sendMessage", "editMessageText", "editMessageReplyMarkup"}


@dataclass
class _Failure:
  status: int
  description: str
  retry_after: int | None


class FakeTelegramServer:
  """Real HTTP server on 127.0.0.1:<free port> in a background thread."""

  def __init__(
    self, *, token: str = DEFAULT_TOKEN, bot_user: dict | None = None, first_id: int = 10_001
  ) -> None:
    """`first_id`: where update ids start (another server on the same database needs new ones)."""
    self.token = token
    self.bot_user = dict(bot_user or BOT_USER)
    self.updates = UpdateFactory(bot_user=self.bot_user, first_id=first_id)
    self.requests: list[dict[str, Any]] = []
    self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat_id, message_id) -> Message
    self.webhook: dict[str, Any] = {"url": ""}
    self.commands: dict[str, list[dict]] = {}  # language_code ("" = default) -> commands
    # Menus for a scope other than the default: (scope type, language_code) -> commands.
    self.scoped_commands: dict[tuple[str, str], list[dict]] = {}
    # getChatMember answers: (chat_id, user_id) -> status ("member" when not set).
    self.chat_members: dict[tuple[int, int], str] = {}
    self._pending: list[dict[str, Any]] = []
    self._allowed_updates: list[str] = []
    self._failures: dict[str, deque[_Failure]] = {}
    self._next_message_id = 1
    self._cond = threading.Condition()
    self._stopping = False
    self._httpd: ThreadingHTTPServer | None = None

  # --- lifecycle -----------------------------------------------------------------------------
  def start(self) -> FakeTelegramServer:
    handler = type("Handler", (_Handler,), {"fake": self})
    self._httpd = _Server(("127.0.0.1", 0), handler)
    self._httpd.daemon_threads = True
    thread = threading.Thread(
      target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return self

  def stop(self) -> None:
    with self._cond:
      self._stopping = True
      self._cond.notify_all()  # ends long polls at once
    if self._httpd is not None:
      self._httpd.shutdown()
      self._httpd.server_close()
      self._httpd = None

  def __enter__(self) -> FakeTelegramServer:
    return self.start()

  def __exit__(self, *exc_info: object) -> None:
    self.stop()

  @property
  def port(self) -> int:
    assert self._httpd is not None, "server not started"
    return self._httpd.server_address[1]

  @property
  def base_url(self) -> str:
    return f"http://127.0.0.1:{self.port}/bot"

  @property
  def base_file_url(self) -> str:
    return f"http://127.0.0.1:{self.port}/file/bot"

  # --- scripting -----------------------------------------------------------------------------
  def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
    """Queue an update for getUpdates (the same dict twice simulates a redelivery)."""
    with self._cond:
      self._pending.append(update)
      self._cond.notify_all()
    return update

  def fail(
    self,
    method: str,
    *,
    status: int = 429,
    retry_after: int | None = 1,
    description: str = "",
    times: int = 1,
  ) -> None:
    """Make the next `times` calls of `method` fail (429 carries `retry_after`)."""
    if not description:
      description = {
        429: f"Too Many Requests: retry after {retry_after}",
        500: "Internal Server Error",
        400: "Bad Request: message is not modified: specified new message content and reply "
        "markup are exactly the same as a current content and reply markup of the message",
      }.get(status, f"Error {status}")
    failure = _Failure(status, description, retry_after if status == 429 else None)
    with self._cond:
      self._failures.setdefault(method, deque()).extend([failure] * times)

  # --- inspection ----------------------------------------------------------------------------
  def calls(self, method: str, chat_id: int | None = None) -> list[dict[str, Any]]:
    """Recorded requests of one method (optionally for one chat), oldest first."""
    with self._cond:
      return [
        r
        for r in self.requests
        if r["method"] == method and (chat_id is None or r["params"].get("chat_id") == chat_id)
      ]

  def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
    """Messages the bot sent successfully (current state, edits applied), oldest first."""
    with self._cond:
      messages = sorted(self.messages.values(), key=lambda m: m["message_id"])
    return [m for m in messages if chat_id is None or m["chat"]["id"] == chat_id]

  def texts(self, chat_id: int | None = None) -> list[str]:
    return [m.get("text", "") for m in self.sent(chat_id)]

  async def wait_sent(
    self, count: int, *, chat_id: int | None = None, within: float = 5.0
  ) -> list[dict[str, Any]]:
    """Wait (without blocking the event loop) until at least `count` messages were sent."""
    return await self.wait_for(lambda: self.sent(chat_id), count, within=within)

  async def wait_calls(
    self, method: str, count: int, *, chat_id: int | None = None, within: float = 5.0
  ) -> list[dict[str, Any]]:
    return await self.wait_for(lambda: self.calls(method, chat_id), count, within=within)

  async def wait_for(self, probe: Any, count: int, *, within: float = 5.0) -> list[Any]:
    deadline = time.monotonic() + within
    while True:
      found = probe()
      if len(found) >= count:
        return found
      if time.monotonic() > deadline:
        raise AssertionError(f"expected {count} within {within}s, got {len(found)}: {found}")
      await asyncio.sleep(0.01)

  def wait_sent_blocking(self, count: int, *, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Same as `wait_sent` for code without an event loop (benchmarks)."""
    with self._cond:
      ok = self._cond.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
    if not ok:
      raise AssertionError(f"expected {count} sent messages, got {len(self.messages)}")
    return self.sent()

  @property
  def pending_updates(self) -> int:
    with self._cond:
      return len(self._pending)

  # --- used by the handler -------------------------------------------------------------------
  def _take_failure(self, method: str) -> _Failure | None:
    queue = self._failures.get(method)
    return queue.popleft() if queue else None

  def call(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict]:
    """Answer one Bot API call: (HTTP status, JSON body)."""
    if token != self.token:
      return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
    with self._cond:
      self.requests.append({"method": method, "params": params, "time": time.monotonic()})
      failure = self._take_failure(method)
    if failure is not None:
      body: dict[str, Any] = {
        "ok": False,
        "error_code": failure.status,
        "description": failure.description,
      }
      if failure.retry_after is not None:
        body["parameters"] = {"retry_after": failure.retry_after}
      return failure.status, body
    if method == "getUpdates":
      return 200, {"ok": True, "result": self._get_updates(params)}
    endpoint = getattr(self, f"_api_{method}", None)
    if endpoint is None:
      return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
    with self._cond:
      result = endpoint(params)
      self._cond.notify_all()
    if isinstance(result, _Failure):
      return result.status, {
        "ok": False,
        "error_code": result.status,
        "description": result.description,
      }
    return 200, {"ok": True, "result": result}

  def _get_updates(self, params: dict[str, Any]) -> list[dict]:
    offset = int(params.get("offset") or 0)
    timeout = float(params.get("timeout") or 0)
    limit = int(params.get("limit") or 100)
    deadline = time.monotonic() + timeout
    with self._cond:
      if params.get("allowed_updates") is not None:
        self._allowed_updates = list(params["allowed_updates"])
      # Confirmed updates are gone for good, as on Telegram.
      self._pending = [u for u in self._pending if u["update_id"] >= offset]
      while True:
        ready = [u for u in self._pending if self._allowed(u)]
        if ready or self._stopping:
          return sorted(ready, key=lambda u: u["update_id"])[:limit]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
          return []
        self._cond.wait(remaining)

  def _allowed(self, update: dict[str, Any]) -> bool:
    kinds = set(update) - {"update_id"}
    return not self._allowed_updates or bool(kinds & set(self._allowed_updates))

  # --- endpoints (called with the condition held) ----------------------------------------------
  def _api_getMe(self, params: dict) -> dict:
    return self.bot_user

  def _api_sendMessage(self, params: dict) -> dict:
    chat_id = int(params["chat_id"])
    message: dict[str, Any] = {
      "message_id": self._next_message_id,
      "date": int(time.time()),
      "chat": self.updates.chat_for(chat_id),
      "from": self.bot_user,
      "text": params["text"],
    }
    self._next_message_id += 1
    markup = params.get("reply_markup")
    if markup and "inline_keyboard" in markup:
      message["reply_markup"] = markup  # only inline keyboards come back, as on Telegram
    message["request_reply_markup"] = markup  # what was asked for, for assertions
    if params.get("message_thread_id"):
      message["message_thread_id"] = int(params["message_thread_id"])
    self.messages[(chat_id, message["message_id"])] = message
    return {k: v for k, v in message.items() if k != "request_reply_markup"}

  def _edit(self, params: dict, changes: dict) -> dict | _Failure:
    key = (int(params["chat_id"]), int(params["message_id"]))
    message = self.messages.get(key)
    if message is None:
      return _Failure(400, "Bad Request: message to edit not found", None)
    if all(message.get(k) == v for k, v in changes.items()):
      return _Failure(400, "Bad Request: message is not modified", None)
    message.update(changes, edit_date=int(time.time()))
    if message.get("reply_markup") is None:
      message.pop("reply_markup", None)  # an edit without markup removes the keyboard
    return {k: v for k, v in message.items() if k != "request_reply_markup"}

  def _api_editMessageText(self, params: dict) -> dict | _Failure:
    changes: dict[str, Any] = {"text": params["text"]}
    changes["reply_markup"] = params.get("reply_markup")
    return self._edit(params, changes)

  def _api_editMessageReplyMarkup(self, params: dict) -> dict | _Failure:
    return self._edit(params, {"reply_markup": params.get("reply_markup")})

  def _api_setMyCommands(self, params: dict) -> bool:
    scope = (params.get("scope") or {}).get("type", "default")
    if scope != "default":
      self.scoped_commands[(scope, params.get("language_code", ""))] = params["commands"]
      return True
    self.commands[params.get("language_code", "")] = params["commands"]
    return True

  def _api_getChatMember(self, params: dict) -> dict:
    chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
    status = self.chat_members.get((chat_id, user_id), "member")
    member: dict[str, Any] = {"status": status, "user": self.updates.user(user_id)}
    if status == "administrator":
      member.update(ADMIN_RIGHTS)
    if status == "creator":
      member["is_anonymous"] = False
    return member

  def _api_deleteMyCommands(self, params: dict) -> bool:
    self.commands.pop(params.get("language_code", ""), None)
    return True

  def _api_setWebhook(self, params: dict) -> bool:
    self.webhook = {"url": params["url"], "secret_token": params.get("secret_token", "")}
    self.webhook["allowed_updates"] = params.get("allowed_updates") or []
    return True

  def _api_deleteWebhook(self, params: dict) -> bool:
    self.webhook = {"url": ""}
    if params.get("drop_pending_updates"):
      self._pending.clear()
    return True

  def _api_getWebhookInfo(self, params: dict) -> dict:
    info = {"url": self.webhook["url"], "has_custom_certificate": False}
    return {**info, "pending_update_count": len(self._pending)}

  def _api_getChat(self, params: dict) -> dict:
    return {**self.updates.chat_for(int(params["chat_id"])), "accent_color_id": 0}

  def _api_sendChatAction(self, params: dict) -> bool:
    return True

  def _api_answerCallbackQuery(self, params: dict) -> bool:
    return True

  def _api_leaveChat(self, params: dict) -> bool:
    return True

  def _api_close(self, params: dict) -> bool:
    return True

  def _api_logOut(self, params: dict) -> bool:
    return True


class _Server(ThreadingHTTPServer):
  request_queue_size = 1024  # the default backlog (5) refuses bursts of hundreds of connections


class _Handler(BaseHTTPRequestHandler):
  fake: FakeTelegramServer
  protocol_version = "HTTP/1.1"  # keep-alive, like the real API

  def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr noise
    return

  def do_GET(self) -> None:  # noqa: N802
    self._dispatch({})

  def do_POST(self) -> None:  # noqa: N802
    length = int(self.headers.get("Content-Length") or 0)
    raw = self.rfile.read(length) if length else b""
    self._dispatch(_parse_body(raw, self.headers.get("Content-Type", "")))

  def _dispatch(self, params: dict[str, Any]) -> None:
    parts = self.path.split("?", 1)[0].strip("/").split("/")
    if len(parts) != 2 or not parts[0].startswith("bot"):
      status, body = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
    else:
      status, body = self.fake.call(parts[0][3:], parts[1], params)
    data = json.dumps(body).encode()
    try:
      self.send_response(status)
      self.send_header("Content-Type", "application/json")
      self.send_header("Content-Length", str(len(data)))
      self.end_headers()
      self.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
      pass  # the client gave up waiting (a cancelled long poll)


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
  if not raw:
    return {}
  if content_type.startswith("application/json"):
    return json.loads(raw)
  params: dict[str, Any] = {}
  for name, value in parse_qsl(raw.decode(), keep_blank_values=True):
    params[name] = value if name in _STRING_FIELDS else _json_or_str(value)
  return params


def _json_or_str(value: str) -> Any:
  try:
    return json.loads(value)
  except ValueError:
    return value
