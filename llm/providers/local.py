"""Self-hosted OpenAI-compatible servers (no API key needed by default)."""

from __future__ import annotations

from llm.providers.base import Provider


class Ollama(Provider):
  kind, label = "ollama", "Ollama"
  default_base_url = "http://localhost:11434/v1"


class LlamaCpp(Provider):
  kind, label = "llamacpp", "llama.cpp server"
  default_base_url = "http://localhost:8080/v1"


class VLLM(Provider):
  kind, label = "vllm", "vLLM"
  default_base_url = "http://localhost:8000/v1"


class LMStudio(Provider):
  kind, label = "lmstudio", "LM Studio"
  default_base_url = "http://localhost:1234/v1"
