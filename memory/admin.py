"""Admin for chats (group settings, participants, transcript) and messages (read-only)."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assistant.admin_paging import FastCountPaginator
from leads.admin_display import admin_link
from leads.models import Customer
from llm.models import LLMModel
from memory.admin_transcript import transcript_view
from memory.models import Chat, Message

logger = logging.getLogger(__name__)
SETTINGS_FIELDS = ("bot_enabled", "allowed", "store_mode")


def _transcript_button(chat: Chat) -> SafeString:
  url = reverse("admin:memory_chat_transcript", args=[chat.pk])
  return format_html('<a class="button" href="{}">{}</a>', url, _("Transcript"))


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
  paginator = FastCountPaginator
  show_full_result_count = False
  list_display = (
    "id",
    "__str__",
    "type",
    "username",
    "bot_enabled",
    "allowed",
    "store_mode",
    "bot_is_member",
    "created_at",
    "transcript_link",
  )
  list_filter = ("type", "bot_enabled", "allowed", "store_mode", "bot_is_member")
  list_editable = ("bot_enabled", "allowed", "store_mode")
  search_fields = ("title", "username", "=external_id")
  ordering = ("-id",)  # newest first, by primary key: instant on any table size
  fields = (
    "channel",
    "external_id",
    "type",
    "title",
    "username",
    "is_forum",
    "bot_is_member",
    *SETTINGS_FIELDS,
    "participants",
    "transcript_link",
    "created_at",
  )
  readonly_fields = tuple(field for field in fields if field not in SETTINGS_FIELDS)

  def has_add_permission(self, request: HttpRequest) -> bool:
    return False  # chats come from the channels

  def get_urls(self) -> list:
    view = self.admin_site.admin_view(self.transcript)
    return [path("<int:pk>/transcript/", view, name="memory_chat_transcript")] + super().get_urls()

  @admin.display(description=gettext_lazy("transcript"))
  def transcript_link(self, chat: Chat) -> SafeString:
    return _transcript_button(chat)

  @admin.display(description=gettext_lazy("participants"))
  def participants(self, chat: Chat) -> SafeString | str:
    """Distinct customers who wrote in this chat with their message counts, most active first
    (at most 100)."""
    counts = list(
      Message.objects.filter(chat=chat, role=Message.Role.USER, customer__isnull=False)
      .values("customer")
      .annotate(count=Count("id"))
      .order_by("-count", "customer")[:100]
    )
    if not counts:
      return _("Nobody has written here yet.")
    people = Customer.objects.in_bulk([row["customer"] for row in counts])
    return format_html_join(
      ", ", "{} ({})", ((admin_link(people[row["customer"]]), row["count"]) for row in counts)
    )

  def save_model(self, request: HttpRequest, obj: Chat, form: Any, change: bool) -> None:
    super().save_model(request, obj, form, change)
    changed = {
      field: getattr(obj, field) for field in SETTINGS_FIELDS if field in form.changed_data
    }
    if change and changed:
      logger.info("Chat #%s settings changed by staff: %s", obj.pk, changed)

  def transcript(self, request: HttpRequest, pk: int) -> HttpResponse:
    from django.core.exceptions import PermissionDenied

    chat = get_object_or_404(Chat, pk=pk)
    if not (
      self.has_view_permission(request, chat) or request.user.has_perm("memory.view_message")
    ):
      raise PermissionDenied
    return transcript_view(
      request,
      messages=Message.objects.filter(chat=chat),
      title=_("Transcript: %(chat)s") % {"chat": chat},
      breadcrumbs=[
        (reverse("admin:memory_chat_changelist"), str(Chat._meta.verbose_name_plural)),
        (reverse("admin:memory_chat_change", args=[chat.pk]), str(chat)),
      ],
    )


class ModelNameFilter(admin.SimpleListFilter):
  """Filter by model, offering the registry's models (a DISTINCT over 1M messages would be slow)."""

  title = gettext_lazy("model")
  parameter_name = "model"

  def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
    names = LLMModel.objects.order_by("provider_model_name").values_list(
      "provider_model_name", flat=True
    )
    return [(name, name) for name in names]

  def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
    return queryset.filter(model_name=self.value()) if self.value() else queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
  paginator = FastCountPaginator
  show_full_result_count = False
  list_per_page = 50
  list_display = (
    "created_at",
    "role",
    "customer_link",
    "chat_link",
    "short_text",
    "model_name",
    "tokens",
    "latency_ms",
    "is_fallback",
  )
  list_filter = (
    "role",
    ("created_at", admin.DateFieldListFilter),
    ModelNameFilter,
    "is_fallback",
  )
  search_fields = ("text",)
  list_select_related = ("chat", "customer")
  show_facets = admin.ShowFacets.NEVER  # per-filter counts over 1M messages would take seconds
  ordering = ("-id",)  # newest first, by primary key: instant on any table size
  readonly_fields = ("in_conversation",)

  def has_add_permission(self, request: HttpRequest) -> bool:
    return False

  def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
    return False  # the record of what was said is never edited here

  @admin.display(description=gettext_lazy("customer"), ordering="customer")
  def customer_link(self, message: Message) -> SafeString | str:
    return admin_link(message.customer)

  @admin.display(description=gettext_lazy("chat"), ordering="chat")
  def chat_link(self, message: Message) -> SafeString:
    return self.in_conversation(message, text=str(message.chat))

  @admin.display(description=gettext_lazy("text"))
  def short_text(self, message: Message) -> str:
    return Truncator(message.text).chars(120)

  @admin.display(description=gettext_lazy("tokens"))
  def tokens(self, message: Message) -> str:
    if message.prompt_tokens is None and message.completion_tokens is None:
      return ""
    return f"{message.prompt_tokens or 0}+{message.completion_tokens or 0}"

  @admin.display(description=gettext_lazy("in the conversation"))
  def in_conversation(self, message: Message, text: str | None = None) -> SafeString:
    url = reverse("admin:memory_chat_transcript", args=[message.chat_id])
    label = text if text is not None else _("Open in the transcript")
    return format_html('<a href="{}?at={}#m{}">{}</a>', url, message.pk, message.pk, label)
