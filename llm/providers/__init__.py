"""LLM providers: every one speaks the OpenAI protocol; they differ in defaults (URL, key, headers).

`PROVIDERS` maps a registry row's `provider` kind to its class, imported on first use.
"""

from __future__ import annotations

import functools

from django.utils.module_loading import import_string

from llm.providers.base import Provider

PROVIDERS: dict[str, str] = {
  "openai": "llm.providers.hosted.OpenAI",
  "openrouter": "llm.providers.hosted.OpenRouter",
  "anthropic": "llm.providers.hosted.Anthropic",
  "gemini": "llm.providers.hosted.Gemini",
  "deepseek": "llm.providers.hosted.DeepSeek",
  "groq": "llm.providers.hosted.Groq",
  "mistral": "llm.providers.hosted.Mistral",
  "together": "llm.providers.hosted.Together",
  "yandexgpt": "llm.providers.hosted.YandexGPT",
  "ollama": "llm.providers.local.Ollama",
  "llamacpp": "llm.providers.local.LlamaCpp",
  "vllm": "llm.providers.local.VLLM",
  "lmstudio": "llm.providers.local.LMStudio",
  "openai_compatible": "llm.providers.base.Provider",
}


@functools.cache
def provider_get(kind: str) -> Provider:
  """The provider for `kind` (KeyError for an unknown kind; the registry validates kinds first)."""
  return import_string(PROVIDERS[kind])()


__all__ = ["PROVIDERS", "Provider", "provider_get"]
