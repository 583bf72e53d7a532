"""The fake server other areas rely on behaves like the real API for the real `openai` client."""

import json
import urllib.error
import urllib.request

import openai
import pytest

from tests.fakes.openai_server import FakeOpenAIServer, embed


def _client(server: FakeOpenAIServer) -> openai.AsyncOpenAI:
  return openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=2)


async def test_embeddings_are_deterministic_unit_vectors(fake_llm):
  response = await _client(fake_llm).embeddings.create(
    model="emb", input=["book a haircut", "haircut booking", "weather today"]
  )

  vectors = [item.embedding for item in response.data]
  assert len(vectors) == 3 and len(vectors[0]) == 64
  assert vectors[0] == embed("book a haircut")
  dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
  assert dot(vectors[0], vectors[1]) > dot(vectors[0], vectors[2])
  assert abs(dot(vectors[0], vectors[0]) - 1) < 1e-9
  assert fake_llm.requests_to("/embeddings")[0]["json"]["input"][2] == "weather today"


async def test_scripted_embedding_errors_and_chat_queue_are_separate(fake_llm):
  fake_llm.enqueue_embeddings(status=429)
  fake_llm.enqueue(text="chat")
  client = _client(fake_llm)

  with pytest.raises(openai.RateLimitError):
    await client.embeddings.create(model="emb", input="x")
  answer = await client.chat.completions.create(
    model="m", messages=[{"role": "user", "content": "q"}]
  )

  assert answer.choices[0].message.content == "chat"
  assert len(fake_llm.chat_requests) == 1


def test_models_list_unknown_paths_and_reset(fake_llm):
  with urllib.request.urlopen(fake_llm.base_url + "/models") as response:
    assert json.load(response)["data"][0]["id"] == "fake-model"
  with pytest.raises(urllib.error.HTTPError) as caught:
    urllib.request.urlopen(fake_llm.base_url + "/nope")
  assert caught.value.code == 404

  fake_llm.enqueue(text="queued")
  fake_llm.reset()
  assert fake_llm.requests == []


def test_empty_embedding_text_and_raw_embedding_body():
  assert embed("!!!")[0] == 1.0
  with FakeOpenAIServer() as server:
    server.enqueue_embeddings(raw_body="{}")
    request = urllib.request.Request(
      server.base_url + "/embeddings", data=b'{"input": "x"}', method="POST"
    )
    with urllib.request.urlopen(request) as response:
      assert response.read() == b"{}"
