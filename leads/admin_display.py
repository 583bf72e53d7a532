"""Small HTML pieces the admin pages share: links, scenario answers, recent messages."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Model, OuterRef, Q, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from leads.models import Customer, Lead, Scenario
from memory.admin_transcript import feedback_marks
from memory.models import Message


def admin_link(obj: Model | None, text: str | None = None) -> SafeString | str:
  """A link to the object's admin change page ("—" for None)."""
  if obj is None:
    return "—"
  meta = obj._meta
  url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
  return format_html('<a href="{}">{}</a>', url, text if text is not None else str(obj))


def transcript_link(customer: Customer, *, text: str | None = None) -> SafeString:
  url = reverse("admin:leads_customer_transcript", args=[customer.pk])
  return format_html('<a class="button" href="{}">{}</a>', url, text or _("Full transcript"))


def step_questions(*, language: str) -> dict[str, str]:
  """Scenario step key -> its question, over every scenario in `language` (steps order kept)."""
  questions: dict[str, str] = {}
  for steps in Scenario.objects.filter(language=language).values_list("steps", flat=True):
    for step in steps if isinstance(steps, list) else []:
      if isinstance(step, dict) and step.get("key"):
        questions.setdefault(str(step["key"]), str(step.get("question") or step["key"]))
  return questions


def answer_text(value: Any) -> str:
  if isinstance(value, list):
    return ", ".join(answer_text(item) for item in value)
  if isinstance(value, dict):
    return json.dumps(value, ensure_ascii=False)
  return "" if value is None else str(value)


def answers_rows(*, lead: Lead, questions: dict[str, str] | None = None) -> list[tuple[str, str]]:
  """(question, answer) pairs of the lead's scenario answers, in the scenarios' step order."""
  answers = lead.answers if isinstance(lead.answers, dict) else {}
  if questions is None:
    questions = step_questions(language=lead.customer.language)
  ordered = [key for key in questions if key in answers]
  ordered += [key for key in answers if key not in questions]
  return [(questions.get(key, key), answer_text(answers[key])) for key in ordered]


def answers_plain(*, lead: Lead, questions: dict[str, str] | None = None) -> str:
  """The answers on one line for exports: "Question: answer; Question: answer"."""
  rows = answers_rows(lead=lead, questions=questions)
  return "; ".join(f"{question}: {answer}" for question, answer in rows)


def answers_html(*, lead: Lead) -> SafeString | str:
  rows = answers_rows(lead=lead)
  if not rows:
    return _("No answers yet.")
  return render_to_string("admin/leads/answers.html", {"rows": rows})


def recent_messages_html(*, customer: Customer, limit: int = 20) -> SafeString | str:
  """The customer's latest messages as chat bubbles (oldest first)."""
  recent = list(
    Message.objects.filter(customer=customer)
    .select_related("chat")
    .order_by("-created_at", "-id")[:limit]
  )
  if not recent:
    return _("No messages yet.")
  marks = feedback_marks(message_ids=[message.pk for message in recent])
  for message in recent:
    message.mark = marks.get(message.pk)
  context = {"messages": list(reversed(recent)), "show_chat": True}
  return render_to_string("admin/memory/bubbles.html", context)


def question_subquery(prefix: str = "") -> Subquery:
  """The customer's last message before an assistant answer, as a subquery annotation.

  `prefix` points at the answer from the annotated model ("message__" from Feedback, "" from
  Message). Walks the (chat, -created_at, -id) index, one row per answer.
  """
  chat, customer = OuterRef(f"{prefix}chat_id"), OuterRef(f"{prefix}customer_id")
  created, pk = OuterRef(f"{prefix}created_at"), OuterRef(f"{prefix}id")
  earlier = Q(created_at__lt=created) | Q(created_at=created, id__lt=pk)
  questions = Message.objects.filter(earlier, chat_id=chat, customer_id=customer, role="user")
  return Subquery(questions.order_by("-created_at", "-id").values("text")[:1])
