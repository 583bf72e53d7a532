"""Hosted providers with an OpenAI-compatible API (each needs an API key)."""

from __future__ import annotations

from llm.providers.base import Provider


class Hosted(Provider):
  requires_key = True


class OpenAI(Hosted):
  kind, label = "openai", "OpenAI"
  default_base_url = "https://api.openai.com/v1"


class OpenRouter(Hosted):
  kind, label = "openrouter", "OpenRouter"
  default_base_url = "https://openrouter.ai/api/v1"

  def default_headers(self) -> dict[str, str]:
    # OpenRouter's optional app attribution; harmless elsewhere, so only sent here.
    return {"X-Title": "Telegram consulting assistant"}


class Anthropic(Hosted):
  kind, label = "anthropic", "Anthropic (OpenAI SDK compatibility)"
  default_base_url = "https://api.anthropic.com/v1"


class Gemini(Hosted):
  kind, label = "gemini", "Google Gemini (OpenAI compatibility)"
  default_base_url = "https://generativelanguage.googleapis.com/v1beta/openai"


class DeepSeek(Hosted):
  kind, label = "deepseek", "DeepSeek"
  default_base_url = "https://api.deepseek.com/v1"


class Groq(Hosted):
  kind, label = "groq", "Groq"
  default_base_url = "https://api.groq.com/openai/v1"


class Mistral(Hosted):
  kind, label = "mistral", "Mistral AI"
  default_base_url = "https://api.mistral.ai/v1"


class Together(Hosted):
  kind, label = "together", "Together AI"
  default_base_url = "https://api.together.xyz/v1"


class YandexGPT(Hosted):
  kind, label = "yandexgpt", "YandexGPT (OpenAI-compatible API)"
  default_base_url = "https://llm.api.cloud.yandex.net/v1"
