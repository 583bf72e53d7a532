"""Customers admin: contacts, consent, language, chosen model, leads, transcript, context preview."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assistant.admin_exports import FilteredExportMixin
from assistant.admin_paging import FastCountPaginator
from assistant.admin_site import PERM_EXPORT_CUSTOMERS
from leads.admin_display import transcript_link
from leads.models import Customer, Lead
from leads.resources import CustomerResource
from leads.services import customer_consent_set, customer_language_set
from memory.admin_transcript import transcript_view
from memory.models import Chat, Message

logger = logging.getLogger(__name__)


class LeadInline(admin.TabularInline):
  model = Lead
  extra = 0
  can_delete = False
  show_change_link = True
  fields = ("stage", "service", "source", "phone", "email", "created_at")
  readonly_fields = fields
  verbose_name_plural = gettext_lazy("leads")

  def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
    return False


@admin.register(Customer)
class CustomerAdmin(FilteredExportMixin, admin.ModelAdmin):
  paginator = FastCountPaginator
  show_full_result_count = False
  list_per_page = 50
  list_display = (
    "id",
    "__str__",
    "username",
    "language",
    "consent",
    "phone",
    "email",
    "selected_model",
    "created_at",
    "last_seen_at",
  )
  list_filter = ("consent", "language", ("created_at", admin.DateFieldListFilter), "selected_model")
  search_fields = (
    "first_name",
    "last_name",
    "display_name",
    "username",
    "phone",
    "email",
    "=external_id",
  )
  list_select_related = ("selected_model",)
  ordering = ("-id",)  # newest first, by primary key: instant on any table size
  inlines = [LeadInline]
  readonly_fields = (
    "channel",
    "external_id",
    "username",
    "first_name",
    "last_name",
    "consent_at",
    "conversations",
    "context_preview_form",
    "created_at",
    "last_seen_at",
  )
  fieldsets = (
    (None, {"fields": ("channel", "external_id", "username", "first_name", "last_name")}),
    (
      gettext_lazy("Contacts and consent"),
      {"fields": ("display_name", "phone", "email", "consent", "consent_at")},
    ),
    (gettext_lazy("Conversation"), {"fields": ("language", "selected_model", "conversations")}),
    (gettext_lazy("Assistant context"), {"fields": ("context_preview_form",)}),
    (gettext_lazy("History"), {"fields": ("created_at", "last_seen_at")}),
  )
  export_resource_class = CustomerResource
  export_permission = PERM_EXPORT_CUSTOMERS
  export_name = "customers"
  export_select_related = ("selected_model",)

  def has_add_permission(self, request: HttpRequest) -> bool:
    return False  # customers come from the channels

  def get_urls(self) -> list:
    view = self.admin_site.admin_view
    return [
      path("<int:pk>/transcript/", view(self.transcript), name="leads_customer_transcript"),
      path("<int:pk>/context/", view(self.context_preview), name="leads_customer_context"),
    ] + super().get_urls()

  @admin.display(description=gettext_lazy("conversations"))
  def conversations(self, customer: Customer) -> SafeString:
    chats = Chat.objects.filter(messages__customer=customer).distinct().order_by("-created_at")
    links = format_html_join(
      " ",
      '<a href="{}">{}</a>',
      ((reverse("admin:memory_chat_transcript", args=[chat.pk]), str(chat)) for chat in chats[:20]),
    )
    return format_html("{} {}", transcript_link(customer), links)

  @admin.display(description=gettext_lazy("what the assistant would see"))
  def context_preview_form(self, customer: Customer) -> SafeString:
    # The inputs belong to a GET form placed after the change form (forms can't nest).
    return render_to_string("admin/leads/context_form.html", {"customer": customer})

  def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
    # Consent and language changes go through the services (they stamp and log them).
    consent, language = obj.consent, obj.language
    if change:
      obj.consent, obj.language = form.initial["consent"], form.initial["language"]
    super().save_model(request, obj, form, change)
    if change and "consent" in form.changed_data and consent != Customer.Consent.UNKNOWN:
      customer_consent_set(customer=obj, given=consent == Customer.Consent.GIVEN)
    elif change and "consent" in form.changed_data:
      Customer.objects.filter(pk=obj.pk).update(consent=consent, consent_at=None)
      logger.info("Customer #%s consent reset by staff", obj.pk)
    if change and "language" in form.changed_data:
      customer_language_set(customer=obj, language=language)
    if change and "selected_model" in form.changed_data:
      logger.info("Customer #%s model set to %s by staff", obj.pk, obj.selected_model or "default")

  def transcript(self, request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    self._check_view(request, customer)
    return transcript_view(
      request,
      messages=Message.objects.filter(customer=customer),
      title=_("Transcript: %(name)s") % {"name": customer},
      breadcrumbs=self._breadcrumbs(customer),
      show_chat=True,
    )

  def context_preview(self, request: HttpRequest, pk: int) -> HttpResponse:
    """What the assistant would put into the LLM call for a question (memory.context_preview)."""
    customer = get_object_or_404(Customer, pk=pk)
    self._check_view(request, customer)
    from memory.selectors import context_preview  # memory's selector; imported when used

    query = request.GET.get("q", "").strip()[:1000]
    preview = context_preview(customer=customer, query=query) if query else None
    context = {
      **self.admin_site.each_context(request),
      "title": _("What the assistant would see: %(name)s") % {"name": customer},
      "customer": customer,
      "query": query,
      "sections": _sections(preview) if preview is not None else [],
      "breadcrumb_links": self._breadcrumbs(customer),
      "url": reverse("admin:leads_customer_context", args=[customer.pk]),
    }
    return TemplateResponse(request, "admin/leads/context_preview.html", context)

  def _check_view(self, request: HttpRequest, customer: Customer) -> None:
    from django.core.exceptions import PermissionDenied

    if not self.has_view_permission(request, customer):
      raise PermissionDenied

  def _breadcrumbs(self, customer: Customer) -> list[tuple[str, str]]:
    return [
      (reverse("admin:leads_customer_changelist"), str(Customer._meta.verbose_name_plural)),
      (reverse("admin:leads_customer_change", args=[customer.pk]), str(customer)),
    ]


def _sections(preview: dict) -> list[dict]:
  """The preview dict as titled sections: text, chat turns, bullets, a key/value table or JSON."""
  sections = []
  for key, value in preview.items():
    section: dict[str, Any] = {"title": str(key).replace("_", " ").capitalize()}
    if isinstance(value, str):
      section["text"] = value
    elif isinstance(value, list) and all(isinstance(v, dict) and "content" in v for v in value):
      section["turns"] = value
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
      section["bullets"] = value
    elif isinstance(value, dict) and all(_scalar(v) for v in value.values()):
      section["rows"] = [(name.replace("_", " "), _cell(v)) for name, v in value.items()]
    else:
      section["json"] = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    sections.append(section)
  return sections


def _scalar(value: Any) -> bool:
  return (
    value is None
    or isinstance(value, str | int | float | bool)
    or (isinstance(value, list) and all(isinstance(v, str | int | float) for v in value))
  )


def _cell(value: Any) -> str:
  if isinstance(value, list):
    return ", ".join(str(v) for v in value) or "—"
  if value is None or value == "":
    return "—"
  return str(value)
