"""The transcript page: one conversation as chat bubbles, paged by keyset, searchable.

Keyset paging on (created_at, id) walks the (chat|customer, -created_at, -id) indexes, so the
newest page of a 5,000-message chat costs the same as the newest page of a 5-message one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from leads.models import Feedback
from memory.models import Message

PAGE_SIZE = 50
CONTEXT_AFTER = 5  # messages shown after a message opened directly (?at=)


@dataclass
class TranscriptPage:
  """Messages oldest first, with the ids to page from (None: nothing further that way)."""

  messages: list[Message]
  older: int | None = None
  newer: int | None = None
  target: int | None = None
  marks: dict[int, dict] = field(default_factory=dict)


def _key(pk: int) -> tuple | None:
  return Message.objects.filter(pk=pk).values_list("created_at", "id").first()


def _older_than(created_at, pk: int, *, inclusive: bool = False) -> Q:
  same = Q(created_at=created_at, id__lte=pk) if inclusive else Q(created_at=created_at, id__lt=pk)
  return Q(created_at__lt=created_at) | same


def _newer_than(created_at, pk: int) -> Q:
  return Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk)


def _desc(messages: QuerySet[Message]) -> QuerySet[Message]:
  return messages.order_by("-created_at", "-id")


def _asc(messages: QuerySet[Message]) -> QuerySet[Message]:
  return messages.order_by("created_at", "id")


def transcript_page(
  *,
  messages: QuerySet[Message],
  before: int | None = None,
  after: int | None = None,
  at: int | None = None,
  limit: int = PAGE_SIZE,
) -> TranscriptPage:
  """One page of `messages`: the newest, or older than `before`, newer than `after`, or around `at`."""
  messages = messages.select_related("customer", "chat")
  anchor = _key(at or before or after) if (at or before or after) else None
  if anchor is None:
    rows = list(_desc(messages)[: limit + 1])
    page = TranscriptPage(messages=rows[:limit][::-1])
    page.older = _first_pk(page) if len(rows) > limit else None
  elif at:
    rows = list(_desc(messages.filter(_older_than(*anchor, inclusive=True)))[: limit + 1])
    after_rows = list(_asc(messages.filter(_newer_than(*anchor)))[: CONTEXT_AFTER + 1])
    page = TranscriptPage(messages=rows[:limit][::-1] + after_rows[:CONTEXT_AFTER], target=at)
    page.older = _first_pk(page) if len(rows) > limit else None
    page.newer = _last_pk(page) if len(after_rows) > CONTEXT_AFTER else None
  elif before:
    rows = list(_desc(messages.filter(_older_than(*anchor)))[: limit + 1])
    page = TranscriptPage(messages=rows[:limit][::-1])
    page.older = _first_pk(page) if len(rows) > limit else None
    page.newer = _last_pk(page) if page.messages else None
  else:
    rows = list(_asc(messages.filter(_newer_than(*anchor)))[: limit + 1])
    page = TranscriptPage(messages=rows[:limit])
    page.newer = _last_pk(page) if len(rows) > limit else None
    page.older = _first_pk(page) if page.messages else None
  page.marks = feedback_marks(message_ids=[message.pk for message in page.messages])
  for message in page.messages:
    message.mark = page.marks.get(message.pk)
  return page


def _first_pk(page: TranscriptPage) -> int | None:
  return page.messages[0].pk if page.messages else None


def _last_pk(page: TranscriptPage) -> int | None:
  return page.messages[-1].pk if page.messages else None


def feedback_marks(*, message_ids: list[int]) -> dict[int, dict]:
  """message id -> {"up": n, "down": n, "comments": [...]} from customers' feedback."""
  marks: dict[int, dict] = {}
  rows = Feedback.objects.filter(message_id__in=message_ids).values_list(
    "message_id", "rating", "comment"
  )
  for message_id, rating, comment in rows:
    mark = marks.setdefault(message_id, {"up": 0, "down": 0, "comments": []})
    if rating > 0:
      mark["up"] += 1
    elif rating < 0:
      mark["down"] += 1
    if comment:
      mark["comments"].append(comment)
  return marks


def highlight(text: str, query: str) -> SafeString:
  """`text` HTML-escaped, with case-insensitive matches of `query` wrapped in <mark>."""
  if not query:
    return escape(text)
  pieces = re.split(f"({re.escape(query)})", text, flags=re.IGNORECASE)
  marked = [
    f"<mark>{escape(piece)}</mark>" if index % 2 else str(escape(piece))
    for index, piece in enumerate(pieces)
  ]
  return mark_safe("".join(marked))  # noqa: S308 - every piece is escaped above


def transcript_view(
  request: HttpRequest,
  *,
  messages: QuerySet[Message],
  title: str,
  breadcrumbs: list[tuple[str, str]],
  show_chat: bool = False,
) -> HttpResponse:
  """Render one page of a transcript; GET q, before, after, at drive search and paging."""
  query = request.GET.get("q", "").strip()[:200]
  if query:
    messages = messages.filter(text__icontains=query)
  page = transcript_page(
    messages=messages,
    before=_int(request.GET.get("before")),
    after=_int(request.GET.get("after")),
    at=_int(request.GET.get("at")),
  )
  for message in page.messages:
    message.html = highlight(message.text, query)
  context = {
    **admin.site.each_context(request),
    "title": title,
    "page": page,
    "query": query,
    "breadcrumb_links": breadcrumbs,
    "show_chat": show_chat,
  }
  return TemplateResponse(request, "admin/memory/transcript.html", context)


def _int(value: str | None) -> int | None:
  return int(value) if value and value.isdigit() else None
