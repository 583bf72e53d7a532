"""Texts a business edits (greeting, consent, help...) come from content prompts.

`llm.prompts.prompt_text` falls back to built-in gettext defaults, so every key always has a text.
"""

import re

from leads.models import Customer
from llm.prompts import prompt_text

# "Hello, {name}!" rendered without a name: drop the dangling comma.
_EMPTY_NAME = re.compile(r"[ \t]*,[ \t]*([!.?])")


def business_text(key: str, *, language: str, **params: str) -> str:
  """The business's text `key` in `language`, placeholders filled."""
  text = prompt_text(key=key, language=language, **params).strip()
  if "name" in params and not params["name"]:
    text = _EMPTY_NAME.sub(r"\1", text)
  return text


def customer_name(customer: Customer) -> str:
  return customer.display_name or customer.first_name


def greeting_text(customer: Customer) -> str:
  return business_text("greeting", language=customer.language, name=customer_name(customer))


def consent_text(customer: Customer) -> str:
  return business_text("consent", language=customer.language)


def help_text(customer: Customer) -> str:
  return business_text("help", language=customer.language)
