"""Admin for LLM models and usage (see also llm/admin_prompts.py for prompts and versions)."""

from llm import admin_prompts  # noqa: F401  (registers the prompt admin)
