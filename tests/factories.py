"""Small factories for tests: plain functions with sensible defaults; pass fields to override."""

import itertools

from leads.models import CatalogService, Customer, FAQEntry, Lead
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
