import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from llm.errors import RegistryError
from llm.schema import registry_parse, row_hash, rows_validate, token_problems, url_is_valid
from tests.llm.conftest import registry_row


def _problems(data) -> list[str]:
  with pytest.raises(RegistryError) as caught:
    rows_validate(data, origin="test")
  return caught.value.problems


def test_valid_rows_are_normalised():
  rows = rows_validate(
    {"models": [registry_row("a/b", base_url="http://h:1/v1/", price_prompt_per_1k=0.5)]},
    origin="test",
  )

  assert rows[0]["provider_model_name"] == "a/b"
  assert rows[0]["base_url"] == "http://h:1/v1"
  assert rows[0]["price_prompt_per_1k"] == Decimal("0.5")
  assert rows[0]["price_completion_per_1k"] == Decimal("0")
  assert rows[0]["customer_selectable"] is True
  assert rows[0]["params"] == {}
  assert rows[0]["context_window"] is None


def test_missing_base_url_takes_the_provider_default():
  row = registry_row("o/x", provider="ollama", encrypted_api_key="")
  del row["base_url"]

  assert rows_validate({"models": [row]}, origin="t")[0]["base_url"] == "http://localhost:11434/v1"


def test_duplicate_provider_model_name_is_rejected():
  problems = _problems({"models": [registry_row("dup/x"), registry_row("dup/x")]})

  assert problems == [
    "models[1] 'dup/x': duplicate provider_model_name (already used by models[0])"
  ]


def test_each_bad_row_is_reported_with_its_name_and_reason():
  # given
  data = {
    "models": [
      registry_row("ok/1"),
      registry_row("bad/url", base_url="ftp://x"),
      registry_row("bad/provider", provider="nope"),
      "not an object",
      {"provider": "openai", "model": "m"},
      registry_row("bad/key", provider="openai", encrypted_api_key=""),
      registry_row("bad/flags", active="yes", fallback_order=-1, context_window=0),
      registry_row("bad/price", price_prompt_per_1k="abc", price_completion_per_1k=True),
      registry_row("bad/typo", temprature=1, default=True),
      registry_row("bad/params", params={"temperature": "hot", "timeout": 0, "foo": 1}),
    ]
  }

  # when
  problems = _problems(data)

  # then
  assert problems == [
    "models[1] 'bad/url': base_url must be an http:// or https:// URL with a host",
    "models[2] 'bad/provider': unknown provider 'nope'; known: anthropic, deepseek, gemini, "
    "groq, llamacpp, lmstudio, mistral, ollama, openai, openai_compatible, openrouter, together, "
    "vllm, yandexgpt",
    "models[3]: expected an object, got str",
    "models[4]: provider_model_name is required (a non-empty string)",
    "models[4]: encrypted_api_key is required for provider 'openai'",
    "models[5] 'bad/key': encrypted_api_key is required for provider 'openai'",
    "models[6] 'bad/flags': active must be true or false",
    "models[6] 'bad/flags': fallback_order must be a whole number >= 0",
    "models[6] 'bad/flags': context_window must be a whole number >= 1 or null",
    "models[7] 'bad/price': price_prompt_per_1k must be a number >= 0",
    "models[7] 'bad/price': price_completion_per_1k must be a number >= 0",
    "models[8] 'bad/typo': the default model is set by DEFAULT_LLM_MODEL, not in the registry",
    "models[8] 'bad/typo': unknown field(s): temprature",
    "models[9] 'bad/params': params.temperature has the wrong type (str)",
    "models[9] 'bad/params': params.timeout must be > 0 seconds",
    "models[9] 'bad/params': params.foo is not a known parameter; known: extra_body, "
    "frequency_penalty, headers, max_completion_tokens, max_tokens, presence_penalty, "
    "price_completion_per_1k, price_prompt_per_1k, reasoning_effort, response_format, seed, "
    "stop, stream, temperature, timeout, top_p",
  ]


def test_more_field_problems():
  long_name = "x" * 201
  problems = _problems(
    {
      "models": [
        registry_row(long_name),
        registry_row("p/1", params=[]),
        registry_row("p/2", params={"max_tokens": True, "price_prompt_per_1k": "-1"}),
        registry_row("p/3", base_url="", provider="openai_compatible"),
        registry_row("p/4", encrypted_api_key=42),
      ]
    }
  )

  assert problems == [
    f"models[0] '{long_name}': provider_model_name is longer than 200 characters",
    "models[1] 'p/1': params must be an object",
    "models[2] 'p/2': params.max_tokens has the wrong type (bool)",
    "models[2] 'p/2': params.price_prompt_per_1k must be a number >= 0",
    "models[3] 'p/3': base_url is required for this provider",
    "models[4] 'p/4': encrypted_api_key must be a string",
  ]


def test_top_level_shape_and_unknown_keys():
  assert _problems([]) == ['expected a JSON object {"models": [ ... ]}']
  assert _problems({"models": [], "extra": 1}) == ["unknown top-level key(s): extra"]


def test_registry_parse_reports_bad_json():
  with pytest.raises(RegistryError) as caught:
    registry_parse("{nope", origin="file x.json")

  assert str(caught.value).startswith(
    "LLM model registry file x.json has 1 problem(s):\n  - not valid JSON"
  )


def test_plaintext_key_in_the_token_field_is_refused():
  plain = "sk-" + "proj-abc123" * 3

  assert token_problems(plain) == [
    "encrypted_api_key holds a plaintext API key: encrypt it with `manage.py encrypt_api_key` "
    "and revoke the exposed key"
  ]
  assert token_problems("hello") == [
    "encrypted_api_key is not a Fernet token (make one with `manage.py encrypt_api_key`)"
  ]


@pytest.mark.parametrize(
  ("url", "valid"),
  [
    ("http://ollama:11434/v1", True),
    ("https://api.openai.com/v1", True),
    ("http://localhost:8080/v1", True),
    ("ftp://host/v1", False),
    ("http:///v1", False),
    ("http://host:99999/v1", False),
    ("http://h/" + "x" * 500, False),
  ],
)
def test_url_is_valid(url: str, valid: bool):
  assert url_is_valid(url) is valid


def test_row_hash_is_stable_and_sensitive():
  row = rows_validate({"models": [registry_row("h/1")]}, origin="t")[0]

  assert row_hash(row) == row_hash(dict(row))
  assert row_hash(row) != row_hash({**row, "fallback_order": 11})


def test_example_file_is_valid_once_tokens_are_pasted():
  # given the shipped example with real-looking tokens in place of the placeholders
  path = Path(django_settings.BASE_DIR) / "llm_models.example.json"
  data = json.loads(path.read_text(encoding="utf-8"))
  placeholders = [row for row in data["models"] if row["encrypted_api_key"]]

  # then as shipped, every keyed row asks for a token
  with pytest.raises(RegistryError) as caught:
    rows_validate(data, origin="example")
  assert len(caught.value.problems) == len(placeholders) == 2

  # when tokens are pasted
  for row in placeholders:
    row["encrypted_api_key"] = registry_row()["encrypted_api_key"]
  rows = rows_validate(data, origin="example")

  # then OpenAI, OpenRouter, Ollama and llama.cpp rows load
  assert [row["provider"] for row in rows] == ["openai", "openrouter", "ollama", "llamacpp"]
