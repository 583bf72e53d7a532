"""Small factories for tests: plain functions with sensible defaults; pass fields to override."""

import itertools

from leads.models import CatalogService, Customer, FAQEntry, Lead
from llm.models import LLMModel
from memory.models import Chat, Message

_ids = itertools.count(1000)


def customer_factory(**fields) -> Customer:
  fields.setdefault("external_id", str(next(_ids)))
  fields.setdefault("first_name", "Anna")
  fields.setdefault("language", "ru")
  return Customer.objects.create(**fields)


def chat_factory(**fields) -> Chat:
  fields.setdefault("external_id", str(next(_ids)))
  return Chat.objects.create(**fields)


def message_factory(**fields) -> Message:
  if "chat" not in fields:
    fields["chat"] = chat_factory()
  fields.setdefault("role", Message.Role.USER)
  fields.setdefault("text", "hello")
  return Message.objects.create(**fields)


def lead_factory(**fields) -> Lead:
  if "customer" not in fields:
    fields["customer"] = customer_factory()
  return Lead.objects.create(**fields)


def service_factory(**fields) -> CatalogService:
  n = next(_ids)
  fields.setdefault("slug", f"service-{n}")
  fields.setdefault("name", f"Service {n}")
  return CatalogService.objects.create(**fields)


def faq_factory(**fields) -> FAQEntry:
  n = next(_ids)
  fields.setdefault("key", f"faq-{n}")
  fields.setdefault("question", f"Question {n}?")
  fields.setdefault("answer", f"Answer {n}.")
  return FAQEntry.objects.create(**fields)


def llm_model_factory(**fields) -> LLMModel:
  """An active OpenAI-compatible LLMModel; `api_key` (plaintext) is stored encrypted."""
  from llm.crypto import encrypt_api_key
  from tests.fakes.openai_server import FAKE_API_KEY

  n = next(_ids)
  api_key = fields.pop("api_key", FAKE_API_KEY)
  fields.setdefault("provider_model_name", f"fake/model-{n}")
  fields.setdefault("provider", "openai_compatible")
  fields.setdefault("model", "fake-model")
  fields.setdefault("base_url", "http://127.0.0.1:9/v1")
  fields.setdefault("encrypted_api_key", encrypt_api_key(api_key) if api_key else "")
  return LLMModel.objects.create(**fields)
