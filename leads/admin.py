"""Admin for leads (this module), customers, catalog, FAQ, scenarios and feedback (siblings)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from assistant.admin_exports import FilteredExportMixin
from assistant.admin_paging import FastCountPaginator
from assistant.admin_site import PERM_EXPORT_LEADS
from leads import admin_content, admin_customers  # noqa: F401  (register their admins)
from leads.admin_display import (
  admin_link,
  answers_html,
  recent_messages_html,
  transcript_link,
)
from leads.models import Feedback, Lead
from leads.resources import LeadResource
from leads.services import lead_stage_set


class BigListMixin:
  """Lists that stay fast on 100,000s of rows: no full COUNT(*), a modest page."""

  paginator = FastCountPaginator
  show_full_result_count = False
  list_per_page = 50


class SourceFilter(admin.SimpleListFilter):
  title = _("source")
  parameter_name = "source"

  def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
    sources = Lead.objects.order_by("source").values_list("source", flat=True).distinct()[:50]
    return [(source, source) for source in sources]

  def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
    return queryset.filter(source=self.value()) if self.value() else queryset


def _stage_action(stage: Lead.Stage) -> Callable:
  def action(modeladmin: LeadAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    changed = 0
    for lead in queryset.select_related(None).only("id", "stage").iterator():
      if lead.stage != stage:
        lead_stage_set(lead=lead, stage=stage)
        changed += 1
    message = ngettext(
      "%(count)d lead moved to stage “%(stage)s”.",
      "%(count)d leads moved to stage “%(stage)s”.",
      changed,
    ) % {"count": changed, "stage": stage.label}
    modeladmin.message_user(request, message, messages.SUCCESS)

  action.__name__ = f"stage_set_{stage.value}"
  # format_lazy: the label is translated when the list is shown, in the staff member's language.
  description = format_lazy(_("Move to stage: {stage}"), stage=stage.label)
  return admin.action(description=description, permissions=["change"])(action)


@admin.register(Lead)
class LeadAdmin(BigListMixin, FilteredExportMixin, admin.ModelAdmin):
  list_display = (
    "id",
    "customer_link",
    "name",
    "phone",
    "email",
    "stage_badge",
    "service",
    "source",
    "consent",
    "created_at",
  )
  list_display_links = ("id",)
  list_filter = (
    "stage",
    "service",
    SourceFilter,
    ("created_at", admin.DateFieldListFilter),
    "customer__consent",
  )
  search_fields = (
    "name",
    "phone",
    "email",
    "customer__username",
    "customer__first_name",
    "customer__last_name",
    "customer__display_name",
    "customer__phone",
    "customer__email",
  )
  list_select_related = ("customer", "service")
  ordering = ("-id",)  # newest first, by primary key: instant on any table size
  actions = [_stage_action(stage) for stage in Lead.Stage]
  raw_id_fields = ("customer",)
  readonly_fields = (
    "customer_card",
    "answers_view",
    "feedback_view",
    "conversation",
    "created_at",
    "updated_at",
    "stage_changed_at",
  )
  fieldsets = (
    (None, {"fields": ("customer_card", "stage", "service", "source", "notes")}),
    (_("Contacts"), {"fields": ("name", "phone", "email")}),
    (_("Scenario answers"), {"fields": ("answers_view",)}),
    (_("Feedback"), {"fields": ("feedback_view",)}),
    (_("Conversation"), {"fields": ("conversation",)}),
    (_("History"), {"fields": ("created_at", "stage_changed_at", "updated_at")}),
  )
  export_resource_class = LeadResource
  export_permission = PERM_EXPORT_LEADS
  export_name = "leads"

  def has_add_permission(self, request: HttpRequest) -> bool:
    return False  # leads come from conversations

  @admin.display(description=_("customer"), ordering="customer__first_name")
  def customer_link(self, lead: Lead) -> SafeString | str:
    return admin_link(lead.customer)

  @admin.display(description=_("stage"), ordering="stage")
  def stage_badge(self, lead: Lead) -> SafeString:
    return format_html(
      '<span class="stage-badge stage-{}">{}</span>', lead.stage, lead.get_stage_display()
    )

  @admin.display(description=_("consent"), ordering="customer__consent")
  def consent(self, lead: Lead) -> str:
    return lead.customer.get_consent_display()

  @admin.display(description=_("customer"))
  def customer_card(self, lead: Lead) -> SafeString:
    customer = lead.customer
    return format_html(
      "{} · {} · {}: {} · {}: {}",
      admin_link(customer),
      f"@{customer.username}" if customer.username else customer.external_id,
      _("language"),
      customer.get_language_display(),
      _("consent"),
      customer.get_consent_display(),
    )

  @admin.display(description=_("scenario answers"))
  def answers_view(self, lead: Lead) -> SafeString | str:
    return answers_html(lead=lead)

  @admin.display(description=_("feedback"))
  def feedback_view(self, lead: Lead) -> SafeString | str:
    feedback = list(Feedback.objects.filter(customer=lead.customer).select_related("message")[:20])
    if not feedback:
      return _("No feedback yet.")
    return render_to_string("admin/leads/feedback_list.html", {"feedback": feedback})

  @admin.display(description=_("recent messages"))
  def conversation(self, lead: Lead) -> SafeString:
    return format_html(
      "{}{}", transcript_link(lead.customer), recent_messages_html(customer=lead.customer)
    )

  def save_model(self, request: HttpRequest, obj: Lead, form, change: bool) -> None:
    # The stage goes through the service so every change is logged the same way.
    if change and "stage" in form.changed_data:
      new_stage = obj.stage
      obj.stage = form.initial["stage"]
      super().save_model(request, obj, form, change)
      lead_stage_set(lead=obj, stage=new_stage)
      return
    super().save_model(request, obj, form, change)
