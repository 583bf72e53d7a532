"""Bot API requests over aiohttp: python-telegram-bot's `BaseRequest`, a lighter transport.

PTB's default `HTTPXRequest` runs every call through httpx, httpcore and anyio; with hundreds of
answers at once that stack cost the bot more CPU than its own work (docs/benchmarks.md, Telegram
throughput). aiohttp does the same job with a C parser. Parameters go form-encoded (as PTB's
own request does), uploads as multipart. PTB's timeouts map onto aiohttp's: connect -> the socket
connect, read -> each socket read, pool -> waiting for a connection plus connecting; aiohttp has
no write timeout, so a slow upload is bounded by the read timeout of its answer instead.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

logger = logging.getLogger(__name__)

_DEFAULT = type(BaseRequest.DEFAULT_NONE)  # PTB's DefaultValue

CONNECT_TIMEOUT = (
  "Timed out waiting for a connection to the Bot API (all busy, or the server does not answer); "
  "the request was not sent. Check TELEGRAM_API_BASE_URL, or raise "
  "TELEGRAM_CONNECTION_POOL_SIZE / TELEGRAM_POOL_TIMEOUT."
)


class AiohttpRequest(BaseRequest):
  """One aiohttp session (made on `initialize`, inside the running loop) with a bounded pool."""

  __slots__ = ("_connect", "_pool", "_pool_size", "_read", "_session")

  def __init__(
    self,
    *,
    connection_pool_size: int = 1,
    connect_timeout: float | None = 5.0,
    read_timeout: float | None = 5.0,
    pool_timeout: float | None = 1.0,
  ) -> None:
    if connection_pool_size < 1:
      raise ValueError("connection_pool_size must be at least 1")
    self._pool_size = connection_pool_size
    self._connect, self._read, self._pool = connect_timeout, read_timeout, pool_timeout
    self._session: aiohttp.ClientSession | None = None

  @property
  def read_timeout(self) -> float | None:
    return self._read

  async def initialize(self) -> None:
    if self._session is None or self._session.closed:
      connector = aiohttp.TCPConnector(limit=self._pool_size)
      self._session = aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": self.USER_AGENT}
      )

  async def shutdown(self) -> None:
    if self._session is None or self._session.closed:
      logger.debug("AiohttpRequest already shut down")
      return
    await self._session.close()

  async def do_request(
    self,
    url: str,
    method: str,
    request_data: RequestData | None = None,
    read_timeout: Any = BaseRequest.DEFAULT_NONE,
    write_timeout: Any = BaseRequest.DEFAULT_NONE,
    connect_timeout: Any = BaseRequest.DEFAULT_NONE,
    pool_timeout: Any = BaseRequest.DEFAULT_NONE,
  ) -> tuple[int, bytes]:
    if self._session is None or self._session.closed:
      raise RuntimeError("This AiohttpRequest is not initialized")
    # A DefaultValue (PTB's "not given") means this request's own default.
    read = self._read if isinstance(read_timeout, _DEFAULT) else read_timeout
    connect = self._connect if isinstance(connect_timeout, _DEFAULT) else connect_timeout
    pool = self._pool if isinstance(pool_timeout, _DEFAULT) else pool_timeout
    waiting = None if pool is None and connect is None else (pool or 0) + (connect or 0)
    timeout = aiohttp.ClientTimeout(
      total=None, connect=waiting, sock_connect=connect, sock_read=read
    )
    kwargs: dict[str, Any] = {"timeout": timeout}
    if request_data is not None and request_data.contains_files:
      kwargs["data"] = _form(request_data)
    elif request_data is not None:
      parameters = request_data.json_parameters  # JSON-encodes every value: once
      if parameters:
        kwargs["data"] = urlencode(parameters)
        kwargs["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
      async with self._session.request(method, url, **kwargs) as response:
        return response.status, await response.read()
    except aiohttp.ConnectionTimeoutError as error:
      raise TimedOut(CONNECT_TIMEOUT) from error
    except (TimeoutError, aiohttp.ServerTimeoutError) as error:
      raise TimedOut from error
    except aiohttp.ClientError as error:
      raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _form(request_data: RequestData) -> aiohttp.FormData:
  """Multipart: the plain parameters as fields, each file as a part with its name and type."""
  form = aiohttp.FormData()
  for name, value in request_data.json_parameters.items():
    form.add_field(name, value)
  for name, upload in request_data.multipart_data.items():
    filename, content, *rest = upload
    form.add_field(name, content, filename=filename, content_type=rest[0] if rest else None)
  return form
