"""The Bot API transport over aiohttp (bot/http.py), against real local HTTP servers."""

import asyncio
import json
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.application import bot_request
from bot.http import CONNECT_TIMEOUT, AiohttpRequest


@pytest.fixture
async def server():
  """An aiohttp web server: /echo returns what it got, /slow answers after 1 s, /drop hangs up."""
  seen: list[dict] = []

  async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    seen.append(
      {"type": request.content_type, "body": body, "agent": request.headers["User-Agent"]}
    )
    return web.json_response({"ok": True, "result": True}, status=200)

  async def multipart(request: web.Request) -> web.Response:
    parts = {}
    async for part in await request.multipart():
      parts[part.name] = (part.filename, await part.read())
    seen.append({"type": request.content_type, "parts": parts})
    return web.json_response({"ok": True, "result": True})

  async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(1.0)
    return web.json_response({"ok": True, "result": True})

  async def drop(request: web.Request) -> web.Response:
    request.transport.close()
    await asyncio.sleep(1.0)
    return web.Response()

  app = web.Application()
  app.router.add_post("/echo", echo)
  app.router.add_post("/multipart", multipart)
  app.router.add_post("/slow", slow)
  app.router.add_post("/drop", drop)
  runner = web.AppRunner(app)
  await runner.setup()
  site = web.TCPSite(runner, "127.0.0.1", 0)
  await site.start()
  port = site._server.sockets[0].getsockname()[1]
  yield f"http://127.0.0.1:{port}", seen
  await runner.cleanup()


@pytest.fixture
async def request_():
  request = AiohttpRequest(connection_pool_size=2, read_timeout=0.2, pool_timeout=0.1)
  await request.initialize()
  yield request
  await request.shutdown()


def _data(**values) -> RequestData:
  return RequestData([RequestParameter.from_input(key, value) for key, value in values.items()])


async def test_parameters_go_form_encoded_as_ptb_sends_them(server, request_):
  # given
  base, seen = server
  markup = InlineKeyboardMarkup([[InlineKeyboardButton("👍", callback_data="fb:up:1")]])

  # when
  status, payload = await request_.do_request(
    f"{base}/echo", "POST", _data(chat_id=42, text="Привет", reply_markup=markup)
  )

  # then
  assert (status, json.loads(payload)) == (200, {"ok": True, "result": True})
  (call,) = seen
  assert call["type"] == "application/x-www-form-urlencoded"
  fields = dict(parse_qsl(call["body"].decode()))
  assert fields["chat_id"] == "42"
  assert fields["text"] == "Привет"
  assert json.loads(fields["reply_markup"])["inline_keyboard"][0][0]["callback_data"] == "fb:up:1"
  assert call["agent"] == BaseRequest.USER_AGENT


async def test_a_call_without_parameters_sends_no_body(server, request_):
  base, seen = server

  status, _payload = await request_.do_request(f"{base}/echo", "POST", None)

  assert status == 200
  assert seen[0]["body"] == b""


async def test_files_go_as_multipart_with_their_names(server, request_):
  # given
  base, seen = server
  from telegram import InputFile

  data = _data(chat_id=42, document=InputFile(b"a,b\n1,2\n", filename="leads.csv", attach=True))

  # when
  status, _payload = await request_.do_request(f"{base}/multipart", "POST", data)

  # then
  assert status == 200
  parts = seen[0]["parts"]
  assert seen[0]["type"] == "multipart/form-data"
  assert parts["chat_id"] == (None, b"42")
  assert [(name, content) for name, content in parts.values() if name] == [
    ("leads.csv", b"a,b\n1,2\n")
  ]


async def test_a_slow_answer_is_a_timeout(server, request_):
  base, _seen = server

  with pytest.raises(TimedOut):
    await request_.do_request(f"{base}/slow", "POST", None)


async def test_a_longer_read_timeout_for_one_call_waits_for_the_answer(server, request_):
  base, _seen = server

  status, _payload = await request_.do_request(f"{base}/slow", "POST", None, read_timeout=3)

  assert status == 200


async def test_no_free_connection_in_time_is_a_timeout_that_names_the_fix(server):
  # given: one connection, held by a slow call
  base, _seen = server
  request = AiohttpRequest(
    connection_pool_size=1, read_timeout=3, connect_timeout=0.1, pool_timeout=0.1
  )
  await request.initialize()
  slow = asyncio.create_task(request.do_request(f"{base}/slow", "POST", None))
  await asyncio.sleep(0.1)

  # when / then
  with pytest.raises(TimedOut, match="TELEGRAM_CONNECTION_POOL_SIZE"):
    await request.do_request(f"{base}/echo", "POST", None)
  assert (await slow)[0] == 200
  await request.shutdown()
  assert "TELEGRAM_POOL_TIMEOUT" in CONNECT_TIMEOUT


async def test_a_dropped_connection_is_a_network_error(server, request_):
  base, _seen = server

  with pytest.raises(NetworkError, match="aiohttp"):
    await request_.do_request(f"{base}/drop", "POST", None)


async def test_a_refused_connection_is_a_network_error(request_, unused_tcp_port):
  with pytest.raises(NetworkError, match="aiohttp.Client"):
    await request_.do_request(f"http://127.0.0.1:{unused_tcp_port}/echo", "POST", None)


async def test_lifecycle_initialize_shutdown_reinitialize(server):
  # given
  base, _seen = server
  request = AiohttpRequest()

  # then: unusable before initialize and after shutdown; usable again after a new initialize
  with pytest.raises(RuntimeError, match="not initialized"):
    await request.do_request(f"{base}/echo", "POST", None)
  await request.shutdown()  # nothing to close: no error
  await request.initialize()
  assert (await request.do_request(f"{base}/echo", "POST", None))[0] == 200
  await request.shutdown()
  await request.shutdown()  # twice: no error
  with pytest.raises(RuntimeError, match="not initialized"):
    await request.do_request(f"{base}/echo", "POST", None)
  await request.initialize()
  assert (await request.do_request(f"{base}/echo", "POST", None))[0] == 200
  await request.shutdown()


def test_pool_size_must_be_positive():
  with pytest.raises(ValueError, match="at least 1"):
    AiohttpRequest(connection_pool_size=0)


def test_bot_request_takes_the_timeouts_from_settings(settings):
  settings.TELEGRAM_READ_TIMEOUT = 7.0

  assert bot_request(pool_size=3).read_timeout == 7.0
  assert bot_request(pool_size=1, read_timeout=17.0).read_timeout == 17.0


async def test_ptb_bot_talks_to_the_fake_bot_api_through_it(telegram):
  # given: PTB's Bot with this transport, as build_application sets it up
  bot = Bot(token=telegram.token, base_url=telegram.base_url, request=bot_request(pool_size=2))

  # when
  async with bot:
    me = await bot.get_me()
    await bot.send_message(chat_id=77, text="Здравствуйте")

  # then
  assert me.is_bot
  assert telegram.texts(77) == ["Здравствуйте"]
