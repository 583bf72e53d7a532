"""Chat completions through any OpenAI-protocol endpoint, with retries and a fallback chain.

`complete()` tries the customer's model, then the default, then the other active models by
`fallback_order`. Transient errors (timeout, 429, 5xx, connection, malformed answer) are retried
LLM_RETRIES times with backoff; permanent ones (bad key, unknown model, bad request) are logged as
an alert and skipped at once. `client_for()` is the only place an API key is decrypted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import weakref
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import openai
from django.conf import settings
from openai.types.chat import ChatCompletion

from assistant.types import StreamCallback
from llm.crypto import decrypt_api_key, key_fingerprint
from llm.errors import LLMError, LLMUnavailable
from llm.providers import provider_get
from llm.registry import ModelSpec, chain_build, registry_specs
from llm.schema import REQUEST_PARAMS

logger = logging.getLogger(__name__)

__all__ = [
  "Completion",
  "LLMError",
  "LLMUnavailable",
  "client_for",
  "clients_close",
  "clients_long_lived",
  "clients_prepare",
  "complete",
  "complete_once",
]

MAX_BACKOFF = 4.0  # seconds; a longer Retry-After moves on to the next model instead of waiting
PERMANENT_STATUSES = {400, 401, 403, 404, 405, 413, 422}


@dataclass(frozen=True)
class Completion:
  text: str
  model_name: str
  prompt_tokens: int
  completion_tokens: int
  latency_ms: int
  cost: Decimal


async def complete(
  *, messages: list[dict], model_name: str | None = None, stream: StreamCallback | None = None
) -> Completion:
  """Answer `messages` with the first model of the chain that works; LLMUnavailable if none does."""
  chain = chain_build(await registry_specs(), model_name)
  if not chain:
    raise LLMUnavailable("No active LLM model is configured (see docs/llm.md).")
  errors: list[LLMError] = []
  shown = _Shown(stream) if stream is not None else None
  for spec in chain:
    try:
      completion = await _complete_with_retries(spec, messages, shown)
    except LLMError as error:
      errors.append(error)
      _log_failure(spec, error, last=spec is chain[-1])
      continue
    if shown is not None:
      await shown.settle(completion.text)
    return completion
  names = ", ".join(spec.provider_model_name for spec in chain)
  raise LLMUnavailable(f"Every LLM model failed ({names}).", errors=errors)


class _Shown:
  """The stream callback, remembering what the channel shows; a failing callback is dropped.

  When a model fails mid-stream and the next one answers without streaming, the channel still
  shows the failed partial text: `settle` replaces it with the final answer.
  """

  def __init__(self, callback: StreamCallback) -> None:
    self.callback = callback
    self.text: str | None = None
    self.broken = False

  async def __call__(self, text: str) -> None:
    if self.broken:
      return
    self.text = text
    try:
      await self.callback(text)
    except Exception:
      self.broken = True
      logger.warning("Stream callback failed; finishing the answer without it", exc_info=True)

  async def settle(self, final: str) -> None:
    if self.text is not None and self.text.strip() != final:
      await self(final)


def _log_failure(spec: ModelSpec, error: LLMError, *, last: bool) -> None:
  then = "no model left" if last else "trying the next model"
  if error.permanent:
    logger.error(
      "LLM alert: model %s failed permanently, %s: %s", spec.provider_model_name, then, error
    )
  else:
    logger.warning("LLM model %s unavailable, %s: %s", spec.provider_model_name, then, error)


async def _complete_with_retries(
  spec: ModelSpec, messages: list[dict], stream: StreamCallback | None
) -> Completion:
  for attempt in range(settings.LLM_RETRIES):
    try:
      return await complete_once(spec, messages, stream)
    except LLMError as error:
      delay = _backoff(attempt, error)
      if error.permanent or delay is None:
        raise
      logger.info("LLM model %s: %s; retry in %.2fs", spec.provider_model_name, error, delay)
      await asyncio.sleep(delay)
  return await complete_once(spec, messages, stream)  # the last try


def _backoff(attempt: int, error: LLMError) -> float | None:
  """Seconds before the next try, or None when the server asks us to wait too long."""
  if error.retry_after is not None:
    return error.retry_after if error.retry_after <= MAX_BACKOFF else None
  return min(settings.LLM_RETRY_BACKOFF * (2**attempt), MAX_BACKOFF)


# --- one request ------------------------------------------------------------------------------
async def complete_once(
  spec: ModelSpec, messages: list[dict], stream: StreamCallback | None = None
) -> Completion:
  """One request to one model, no retry (LLMError on failure)."""
  client = client_for(spec)
  kwargs = request_kwargs(spec)
  started = time.monotonic()
  try:
    if stream is not None and stream_enabled(spec):
      shown = stream if isinstance(stream, _Shown) else _Shown(stream)
      text, usage = await _stream(client, spec, messages, kwargs, shown)
    else:
      text, usage = _parse(await _create(client, spec, messages, kwargs))
  except openai.APIStatusError as error:
    raise status_error(spec, error) from error
  except openai.APITimeoutError as error:
    raise LLMError(
      f"timed out ({timeout_of(spec)}s)", model_name=spec.provider_model_name
    ) from error
  except openai.APIConnectionError as error:
    raise LLMError(f"connection failed: {error}", model_name=spec.provider_model_name) from error
  except (
    openai.APIResponseValidationError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
  ) as e:
    raise LLMError(f"malformed response: {e!r}"[:300], model_name=spec.provider_model_name) from e
  if not text.strip():
    raise LLMError("empty answer", model_name=spec.provider_model_name)
  latency_ms = int((time.monotonic() - started) * 1000)
  prompt_tokens, completion_tokens = _tokens(usage, messages, text)
  logger.debug(
    "LLM %s answered in %d ms (%d+%d tokens)",
    spec.provider_model_name,
    latency_ms,
    prompt_tokens,
    completion_tokens,
  )
  return Completion(
    text=text.strip(),
    model_name=spec.provider_model_name,
    prompt_tokens=prompt_tokens,
    completion_tokens=completion_tokens,
    latency_ms=latency_ms,
    cost=cost_of(spec, prompt_tokens, completion_tokens),
  )


async def _create(
  client: openai.AsyncOpenAI, spec: ModelSpec, messages: list[dict], kwargs: dict[str, Any]
) -> ChatCompletion:
  """`chat.completions.create` through the SDK's plain `post`: the same request and parsing,
  without re-walking our plain-dict body against the SDK's type hints on every call (a
  measurable share of the bot's CPU per answer when hundreds arrive at once)."""
  body = {"model": spec.model, "messages": messages}
  body.update({key: value for key, value in kwargs.items() if not key.startswith("extra_")})
  body.update(kwargs.get("extra_body") or {})
  options: dict[str, Any] = {}
  if kwargs.get("extra_headers"):
    options["headers"] = kwargs["extra_headers"]
  return await client.post("/chat/completions", body=body, cast_to=ChatCompletion, options=options)


def _parse(response: Any) -> tuple[str, Any]:
  choice = response.choices[0]
  return choice.message.content or "", response.usage


async def _stream(
  client: openai.AsyncOpenAI,
  spec: ModelSpec,
  messages: list[dict],
  kwargs: dict[str, Any],
  callback: StreamCallback,
) -> tuple[str, Any]:
  response = await client.chat.completions.create(
    model=spec.model,
    messages=messages,
    stream=True,
    stream_options={"include_usage": True},
    **kwargs,
  )
  text, usage = "", None
  try:
    async for chunk in response:
      usage = chunk.usage or usage
      delta = chunk.choices[0].delta.content if chunk.choices else None
      if delta:
        text += delta
        await callback(text)
  finally:
    await response.close()
  return text, usage


def status_error(spec: ModelSpec, error: openai.APIStatusError) -> LLMError:
  """An HTTP error as an LLMError: permanent for bad key/model/request, else transient."""
  status = error.status_code
  permanent = status in PERMANENT_STATUSES
  reason = {401: "bad API key", 403: "access denied", 404: "model or URL not found"}.get(status)
  if reason is None:
    reason = "rate limited" if status == 429 else "server error" if status >= 500 else "refused"
  return LLMError(
    f"{reason} (HTTP {status}): {_error_message(error)}",
    permanent=permanent,
    model_name=spec.provider_model_name,
    retry_after=_retry_after(error),
  )


def _error_message(error: openai.APIStatusError) -> str:
  body = error.body
  if isinstance(body, dict):
    inner = body.get("error", body)
    message = inner.get("message") if isinstance(inner, dict) else None
    if message:
      return str(message)[:200]
  return str(error.message)[:200]


def _retry_after(error: openai.APIStatusError) -> float | None:
  value = error.response.headers.get("retry-after") if error.response is not None else None
  try:
    return max(float(value), 0.0) if value is not None else None
  except ValueError:
    return None  # an HTTP date: treat as "wait longer than we would"


def _tokens(usage: Any, messages: list[dict], text: str) -> tuple[int, int]:
  """Token counts from the server, or an estimate (~4 characters a token) when it sent none."""
  if usage is not None and usage.prompt_tokens is not None:
    return int(usage.prompt_tokens), int(usage.completion_tokens or 0)
  prompt_chars = sum(len(str(message.get("content") or "")) for message in messages)
  return max(1, prompt_chars // 4), max(1, len(text) // 4)


def cost_of(spec: ModelSpec, prompt_tokens: int, completion_tokens: int) -> Decimal:
  """Estimated cost from per-1K-token prices (params override the model's fields)."""
  prompt_price = Decimal(str(spec.params.get("price_prompt_per_1k", spec.price_prompt_per_1k)))
  completion_price = Decimal(
    str(spec.params.get("price_completion_per_1k", spec.price_completion_per_1k))
  )
  cost = (prompt_tokens * prompt_price + completion_tokens * completion_price) / 1000
  return cost.quantize(Decimal("0.000001"))


# --- the client -------------------------------------------------------------------------------
def timeout_of(spec: ModelSpec) -> float:
  return float(spec.params.get("timeout") or settings.LLM_TIMEOUT)


def stream_enabled(spec: ModelSpec) -> bool:
  return bool(settings.LLM_STREAMING and spec.params.get("stream", True))


def request_kwargs(spec: ModelSpec) -> dict[str, Any]:
  """Request parameters from the row's params (temperature, max_tokens, extra_body...)."""
  kwargs = {key: value for key, value in spec.params.items() if key in REQUEST_PARAMS}
  headers = spec.params.get("headers")
  if headers:
    kwargs["extra_headers"] = dict(headers)
  return kwargs


# Clients are bound to the event loop they were made on: one cache per loop, by model name,
# holding (signature, client).
_clients: weakref.WeakKeyDictionary[
  asyncio.AbstractEventLoop, dict[str, tuple[tuple, openai.AsyncOpenAI]]
] = weakref.WeakKeyDictionary()
_closing: set[asyncio.Task] = set()
# Loops that live for a whole process run (the bot's) and close their clients at the end: their
# clients use the aiohttp transport (less CPU per request than the SDK's default httpx stack),
# which must be closed explicitly. One-off loops (admin preview, commands) keep the default.
_long_lived: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def client_for(spec: ModelSpec) -> openai.AsyncOpenAI:
  """The AsyncOpenAI for a registry row (cached; rebuilt when the row, its key or master key change).

  The only place an API key is decrypted.
  """
  signature = (
    spec.pk,
    spec.provider,
    spec.base_url,
    hashlib.sha256(spec.encrypted_api_key.encode()).hexdigest(),
    timeout_of(spec),
    key_fingerprint(),
  )
  loop = asyncio.get_running_loop()
  per_loop = _clients.setdefault(loop, {})
  cached = per_loop.get(spec.provider_model_name)
  if cached is not None:
    if cached[0] == signature:
      return cached[1]
    task = loop.create_task(cached[1].close())  # the row or a key changed: free the old client
    _closing.add(task)
    task.add_done_callback(_closing.discard)
  provider = provider_get(spec.provider)
  if spec.encrypted_api_key:
    api_key = decrypt_api_key(spec.encrypted_api_key, model_name=spec.provider_model_name)
  else:
    api_key = provider.placeholder_key
  client = openai.AsyncOpenAI(
    base_url=spec.base_url,
    api_key=api_key,
    timeout=timeout_of(spec),
    max_retries=0,  # retries and fallback are ours
    default_headers=provider.default_headers() or None,
    http_client=openai.DefaultAioHttpClient(timeout=timeout_of(spec))
    if loop in _long_lived
    else None,
  )
  per_loop[spec.provider_model_name] = (signature, client)
  logger.debug("LLM client built for %s (%s)", spec.provider_model_name, spec.base_url)
  return client


async def clients_prepare() -> int:
  """Build the active models' clients now (each loads the TLS certificates, ~50 ms of CPU), so
  the first questions after a start don't wait for that on the event loop. Returns how many."""
  built = 0
  for spec in chain_build(await registry_specs()):
    try:
      client_for(spec)
    except LLMError as error:  # an unreadable key: registry_validate has reported it
      logger.debug("LLM client for %s not prepared: %s", spec.provider_model_name, error)
      continue
    built += 1
  return built


def clients_long_lived() -> None:
  """Mark the running loop as one that lives for the process run and calls `clients_close()`
  before it ends (the bot's): its clients then use the lighter aiohttp transport."""
  _long_lived.add(asyncio.get_running_loop())


async def clients_close() -> int:
  """Close the running loop's LLM clients (and their connections); returns how many."""
  loop = asyncio.get_running_loop()
  _long_lived.discard(loop)
  clients = [client for _signature, client in _clients.pop(loop, {}).values()]
  await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)
  return len(clients)
