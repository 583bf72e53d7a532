import asyncio
import logging
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from assistant.db import run_db
from llm.client import (
  client_for,
  clients_close,
  clients_long_lived,
  clients_prepare,
  complete,
)
from llm.crypto import encrypt_api_key
from llm.errors import LLMKeyError, LLMUnavailable
from llm.models import LLMModel
from llm.registry import ModelSpec
from tests.factories import llm_model_factory
from tests.fakes.openai_server import FAKE_API_KEY

pytestmark = pytest.mark.django_db(transaction=True)
ASK = [{"role": "user", "content": "How much is a haircut?"}]


async def _update(model: LLMModel, **fields) -> None:
  def save() -> None:
    for name, value in fields.items():
      setattr(model, name, value)
    model.save()

  await run_db(save)


async def test_happy_path_with_the_real_openai_client(llm_model, fake_llm):
  # given
  await _update(
    llm_model,
    params={"temperature": 0.2, "max_tokens": 50},
    price_prompt_per_1k=Decimal("0.5"),
    price_completion_per_1k=Decimal("1.5"),
  )
  fake_llm.enqueue(text="  A haircut costs 20 EUR.  ", prompt_tokens=120, completion_tokens=30)

  # when
  completion = await complete(messages=ASK)

  # then
  assert completion.text == "A haircut costs 20 EUR."
  assert completion.model_name == "fake/default"
  assert (completion.prompt_tokens, completion.completion_tokens) == (120, 30)
  assert completion.cost == Decimal("0.105000")  # 120 * 0.5/1000 + 30 * 1.5/1000
  assert 0 <= completion.latency_ms < 5000
  [request] = fake_llm.requests
  assert request["path"] == "/v1/chat/completions"
  assert request["headers"]["authorization"] == f"Bearer {FAKE_API_KEY}"
  assert request["json"] == {
    "model": "fake-model",
    "messages": ASK,
    "temperature": 0.2,
    "max_tokens": 50,
  }


async def test_customer_choice_is_tried_first(llm_model, backup_model, fake_llm, backup_llm):
  backup_llm.enqueue(text="From the backup.")

  completion = await complete(messages=ASK, model_name="fake/backup")

  assert completion.model_name == "fake/backup"
  assert len(fake_llm.requests) == 0


async def test_unknown_or_inactive_choice_falls_back_to_the_default(
  llm_model, backup_model, fake_llm
):
  await _update(backup_model, active=False)

  for name in ["fake/backup", "no/such-model"]:
    completion = await complete(messages=ASK, model_name=name)
    assert completion.model_name == "fake/default"
  assert len(fake_llm.requests) == 2


async def test_fallback_after_timeout_with_one_retry(
  llm_model, backup_model, fake_llm, backup_llm, settings
):
  # given the default model answers too slowly twice
  settings.LLM_RETRIES = 1
  await _update(llm_model, params={"timeout": 0.15})
  fake_llm.enqueue(delay=0.4)
  fake_llm.enqueue(delay=0.4)
  backup_llm.enqueue(text="Backup answer.")

  # when
  completion = await complete(messages=ASK)

  # then
  assert completion.text == "Backup answer."
  assert completion.model_name == "fake/backup"
  assert len(fake_llm.chat_requests) == 2
  assert len(backup_llm.chat_requests) == 1


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_fallback_after_transient_status(
  status, llm_model, backup_model, fake_llm, backup_llm, settings
):
  settings.LLM_RETRIES = 1
  fake_llm.enqueue(status=status)
  fake_llm.enqueue(status=status)

  completion = await complete(messages=ASK)

  assert completion.model_name == "fake/backup"
  assert len(fake_llm.chat_requests) == 2
  assert len(backup_llm.chat_requests) == 1


async def test_transient_error_then_success_stays_on_the_model(
  llm_model, backup_model, fake_llm, backup_llm
):
  fake_llm.enqueue(status=500)
  fake_llm.enqueue(text="Second try worked.")

  completion = await complete(messages=ASK)

  assert (completion.model_name, completion.text) == ("fake/default", "Second try worked.")
  assert len(fake_llm.chat_requests) == 2
  assert backup_llm.chat_requests == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_permanent_status_is_not_retried_and_alerts(
  status, llm_model, backup_model, fake_llm, backup_llm, settings, caplog
):
  # given
  settings.LLM_RETRIES = 3
  fake_llm.enqueue(status=status)

  # when
  with caplog.at_level(logging.WARNING, logger="llm.client"):
    completion = await complete(messages=ASK)

  # then
  assert completion.model_name == "fake/backup"
  assert len(fake_llm.chat_requests) == 1
  [alert] = [r for r in caplog.records if r.levelno == logging.ERROR]
  assert alert.getMessage().startswith(
    "LLM alert: model fake/default failed permanently, trying the next model:"
  )
  assert f"(HTTP {status})" in alert.getMessage()


async def test_retries_setting_controls_attempts(llm_model, fake_llm, settings):
  settings.LLM_RETRIES = 2
  for _ in range(3):
    fake_llm.enqueue(status=503)

  with pytest.raises(LLMUnavailable) as caught:
    await complete(messages=ASK)

  assert len(fake_llm.chat_requests) == 3
  assert caught.value.permanent is False
  assert [e.model_name for e in caught.value.errors] == ["fake/default"]
  assert str(caught.value) == "Every LLM model failed (fake/default)."


async def test_retry_after_is_honoured_or_skipped(llm_model, backup_model, fake_llm, backup_llm):
  # given a short Retry-After (retried) and then a long one (next model at once)
  fake_llm.enqueue(status=429, headers={"Retry-After": "0"})
  fake_llm.enqueue(status=429, headers={"Retry-After": "120"})

  completion = await complete(messages=ASK)

  assert completion.model_name == "fake/backup"
  assert len(fake_llm.chat_requests) == 2


async def test_unparseable_retry_after_uses_backoff(llm_model, fake_llm):
  fake_llm.enqueue(status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

  completion = await complete(messages=ASK)

  assert completion.text == "Fake answer."
  assert len(fake_llm.chat_requests) == 2


async def test_malformed_json_is_transient(llm_model, backup_model, fake_llm, backup_llm):
  fake_llm.enqueue(raw_body="{not json")
  fake_llm.enqueue(raw_body='{"choices": []}')

  completion = await complete(messages=ASK)

  assert completion.model_name == "fake/backup"
  assert len(fake_llm.chat_requests) == 2


async def test_malformed_stream_is_transient(llm_model, backup_model, fake_llm, backup_llm):
  seen: list[str] = []

  async def on_text(text: str) -> None:
    seen.append(text)

  fake_llm.enqueue(raw_body="data: {broken\n\n")
  fake_llm.enqueue(raw_body="data: {broken\n\n")
  backup_llm.enqueue(stream_chunks=["Back", "up"])

  completion = await complete(messages=ASK, stream=on_text)

  assert completion.text == "Backup"
  assert len(fake_llm.chat_requests) == 2
  assert seen == ["Back", "Backup"]


async def test_empty_answer_moves_on(llm_model, backup_model, fake_llm, backup_llm, settings):
  settings.LLM_RETRIES = 0
  fake_llm.enqueue(text="   ")

  completion = await complete(messages=ASK)

  assert completion.model_name == "fake/backup"


async def test_connection_refused_moves_on(llm_model, backup_model, fake_llm, backup_llm, settings):
  settings.LLM_RETRIES = 0
  fake_llm.stop()

  completion = await complete(messages=ASK)

  assert completion.model_name == "fake/backup"


async def test_dropped_connection_is_transient(llm_model, fake_llm):
  fake_llm.enqueue(disconnect=True)

  completion = await complete(messages=ASK)

  assert completion.text == "Fake answer."
  assert len(fake_llm.chat_requests) == 2


async def test_every_model_failing_permanently(llm_model, backup_model, fake_llm, backup_llm):
  fake_llm.enqueue(status=401)
  backup_llm.enqueue(status=404)

  with pytest.raises(LLMUnavailable) as caught:
    await complete(messages=ASK)

  assert caught.value.permanent is True
  assert caught.value.model_name == "fake/backup"
  assert [str(e).split(":")[0] for e in caught.value.errors] == [
    "bad API key (HTTP 401)",
    "model or URL not found (HTTP 404)",
  ]


async def test_no_model_configured():
  with pytest.raises(LLMUnavailable, match="No active LLM model is configured") as caught:
    await complete(messages=ASK)

  assert caught.value.errors == []
  assert caught.value.permanent is False


async def test_streaming_passes_accumulated_text_and_reads_usage(llm_model, fake_llm):
  # given
  seen: list[str] = []

  async def on_text(text: str) -> None:
    seen.append(text)

  fake_llm.enqueue(stream_chunks=["Hel", "lo, ", "Anna!"], prompt_tokens=42, completion_tokens=7)

  # when
  completion = await complete(messages=ASK, stream=on_text)

  # then
  assert seen == ["Hel", "Hello, ", "Hello, Anna!"]
  assert completion.text == "Hello, Anna!"
  assert (completion.prompt_tokens, completion.completion_tokens) == (42, 7)
  body = fake_llm.requests[0]["json"]
  assert body["stream"] is True
  assert body["stream_options"] == {"include_usage": True}


async def test_failing_stream_callback_does_not_lose_the_answer(llm_model, fake_llm):
  calls: list[str] = []

  async def broken(text: str) -> None:
    calls.append(text)
    raise RuntimeError("telegram edit failed")

  fake_llm.enqueue(stream_chunks=["One ", "two ", "three."])

  completion = await complete(messages=ASK, stream=broken)

  assert completion.text == "One two three."
  assert calls == ["One "]


async def test_streaming_can_be_switched_off(llm_model, fake_llm, settings):
  settings.LLM_STREAMING = False
  seen: list[str] = []

  async def on_text(text: str) -> None:
    seen.append(text)

  completion = await complete(messages=ASK, stream=on_text)

  assert completion.text == "Fake answer."
  assert seen == []
  assert "stream" not in fake_llm.requests[0]["json"]


async def test_streaming_can_be_switched_off_per_model(llm_model, fake_llm):
  await _update(llm_model, params={"stream": False})

  async def on_text(text: str) -> None:
    raise AssertionError("not streamed")

  completion = await complete(messages=ASK, stream=on_text)

  assert completion.text == "Fake answer."
  assert "stream" not in fake_llm.requests[0]["json"]


async def test_missing_usage_is_estimated(llm_model, fake_llm):
  body = (
    '{"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": '
    '[{"index": 0, "message": {"role": "assistant", "content": "Twelve chars"}, '
    '"finish_reason": "stop"}]}'
  )
  fake_llm.enqueue(raw_body=body)

  completion = await complete(messages=[{"role": "user", "content": "x" * 40}])

  assert (completion.prompt_tokens, completion.completion_tokens) == (10, 3)


async def test_params_prices_override_model_prices(llm_model, fake_llm):
  await _update(
    llm_model,
    price_prompt_per_1k=Decimal("100"),
    params={"price_prompt_per_1k": "1", "price_completion_per_1k": 2},
  )
  fake_llm.enqueue(prompt_tokens=1000, completion_tokens=500)

  completion = await complete(messages=ASK)

  assert completion.cost == Decimal("2.000000")


async def test_headers_and_extra_body_params_are_sent(llm_model, fake_llm):
  await _update(
    llm_model,
    params={"headers": {"X-Test": "yes"}, "extra_body": {"provider": {"order": ["a"]}}},
  )

  await complete(messages=ASK)

  request = fake_llm.requests[0]
  assert request["headers"]["x-test"] == "yes"
  assert request["json"]["provider"] == {"order": ["a"]}


async def test_wrong_master_key_skips_the_model_with_an_error_naming_it(
  llm_model, backup_model, fake_llm, backup_llm, settings, caplog
):
  # given the default model's key was encrypted with another master key
  other = Fernet(Fernet.generate_key())
  await _update(llm_model, encrypted_api_key=other.encrypt(b"k").decode())

  # when
  with caplog.at_level(logging.ERROR, logger="llm.client"):
    completion = await complete(messages=ASK)

  # then
  assert completion.model_name == "fake/backup"
  assert fake_llm.requests == []
  [alert] = caplog.records
  assert "The API key of model 'fake/default' can't be decrypted" in alert.getMessage()


async def test_keyless_local_model_sends_a_placeholder(db, fake_llm):
  await run_db(
    llm_model_factory,
    provider_model_name="ollama/local",
    provider="ollama",
    base_url=fake_llm.base_url,
    api_key="",
  )

  completion = await complete(messages=ASK)

  assert completion.model_name == "ollama/local"
  assert fake_llm.requests[0]["headers"]["authorization"] == "Bearer no-key"


async def test_openrouter_sends_its_title_header(db, fake_llm):
  await run_db(
    llm_model_factory, provider_model_name="or/x", provider="openrouter", base_url=fake_llm.base_url
  )

  await complete(messages=ASK)

  assert fake_llm.requests[0]["headers"]["x-title"] == "Telegram consulting assistant"


async def test_client_is_cached_and_rebuilt_when_the_key_changes(llm_model, fake_llm):
  # given
  spec = ModelSpec.from_model(llm_model)
  first = client_for(spec)

  # when the key is replaced
  changed = ModelSpec.from_model(llm_model)
  object.__setattr__(changed, "encrypted_api_key", encrypt_api_key("new-key"))
  second = client_for(changed)
  await asyncio.sleep(0)  # let the old client close

  # then
  assert client_for(changed) is second
  assert first is not second
  assert first.api_key == FAKE_API_KEY
  assert second.api_key == "new-key"
  assert second.max_retries == 0
  assert second.timeout == 5.0


async def test_a_new_api_key_takes_effect_on_the_next_answer(llm_model, fake_llm):
  await complete(messages=ASK)
  await _update(llm_model, encrypted_api_key=encrypt_api_key("rotated-key"))

  await complete(messages=ASK)

  auth = [r["headers"]["authorization"] for r in fake_llm.requests]
  assert auth == [f"Bearer {FAKE_API_KEY}", "Bearer rotated-key"]


async def test_key_error_is_permanent_without_a_request(llm_model, fake_llm, settings):
  settings.LLM_MODEL_DECRYPT_KEY = Fernet.generate_key().decode()

  with pytest.raises(LLMUnavailable) as caught:
    await complete(messages=ASK)

  assert isinstance(caught.value.errors[0], LLMKeyError)
  assert caught.value.permanent is True
  assert fake_llm.requests == []


async def test_error_without_a_json_body_keeps_the_status(llm_model, fake_llm, settings):
  settings.LLM_RETRIES = 0
  fake_llm.enqueue(status=502, raw_body="<html>Bad gateway</html>")

  with pytest.raises(LLMUnavailable) as caught:
    await complete(messages=ASK)

  assert str(caught.value.errors[0]).startswith("server error (HTTP 502): ")
  assert caught.value.permanent is False


async def test_partial_stream_is_replaced_by_the_fallback_answer(
  llm_model, backup_model, fake_llm, backup_llm, settings
):
  # given the default model breaks mid-stream and the backup doesn't stream
  settings.LLM_RETRIES = 0
  await _update(backup_model, params={"stream": False})
  seen: list[str] = []

  async def on_text(text: str) -> None:
    seen.append(text)

  fake_llm.enqueue(
    raw_body='data: {"id": "x", "object": "chat.completion.chunk", "created": 1, '
    '"model": "m", "choices": [{"index": 0, "delta": {"content": "Half an ans"}}]}\n\ndata: {broken\n\n'
  )
  backup_llm.enqueue(text="Full answer.")

  # when
  completion = await complete(messages=ASK, stream=on_text)

  # then the channel ends up showing the answer that counts
  assert completion.text == "Full answer."
  assert seen == ["Half an ans", "Full answer."]


async def test_completed_stream_is_not_repeated(llm_model, fake_llm):
  seen: list[str] = []

  async def on_text(text: str) -> None:
    seen.append(text)

  fake_llm.enqueue(stream_chunks=["Done. "])

  await complete(messages=ASK, stream=on_text)

  assert seen == ["Done. "]


async def test_clients_are_prepared_before_the_first_question(llm_model, fake_llm, settings):
  # given: a second active model whose key can't be read with the current master key
  await run_db(
    llm_model_factory,
    provider_model_name="broken/key",
    base_url=fake_llm.base_url,
    encrypted_api_key=Fernet(Fernet.generate_key()).encrypt(b"sk-other").decode(),
  )

  # when
  built = await clients_prepare()

  # then: the readable one is built and reused by the first answer; the other is skipped
  assert built == 1
  prepared = client_for(ModelSpec.from_model(llm_model))
  await complete(messages=ASK)
  assert client_for(ModelSpec.from_model(llm_model)) is prepared


async def test_a_long_lived_loop_uses_aiohttp_and_closes_its_clients(llm_model, fake_llm):
  # given: the bot marks its loop
  clients_long_lived()
  spec = ModelSpec.from_model(llm_model)

  # when: answers, plain and streamed, go through the client built for this loop
  plain = await complete(messages=ASK)
  fake_llm.enqueue(stream_chunks=["Streamed ", "answer."])
  seen = []

  async def on_text(text: str) -> None:
    seen.append(text)

  streamed = await complete(messages=ASK, stream=on_text)
  client = client_for(spec)

  # then: the aiohttp transport carried them; closing frees the client
  assert type(client._client._transport).__name__ == "AiohttpTransport"
  assert plain.text and streamed.text == "Streamed answer."
  assert seen
  assert await clients_close() == 1
  assert client.is_closed()
  assert await clients_close() == 0  # nothing left; the loop is no longer marked
  fresh = client_for(spec)
  assert type(fresh._client._transport).__name__ != "AiohttpTransport"
  await clients_close()


async def test_other_loops_keep_the_sdks_default_transport(llm_model):
  client = client_for(ModelSpec.from_model(llm_model))

  assert type(client._client._transport).__name__ != "AiohttpTransport"
  assert await clients_close() == 1
