"""The staff admin site: branding from settings, analytics and exports pages, login protection."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext_lazy as _

# Custom permissions used by roles (created by `manage.py setup_roles`), as app_label.codename.
PERM_VIEW_ANALYTICS = "leads.view_analytics"
PERM_EXPORT_LEADS = "leads.export_lead"
PERM_EXPORT_CUSTOMERS = "leads.export_customer"
PERM_TRANSLATE = "llm.translate_interface"


class AssistantAdminSite(admin.AdminSite):
  """Django's admin with the business's name, an analytics page and a list of exports."""

  index_template = "admin/assistant_index.html"

  @property
  def site_header(self) -> str:  # type: ignore[override]
    return settings.ADMIN_SITE_TITLE

  @property
  def site_title(self) -> str:  # type: ignore[override]
    return settings.ADMIN_SITE_TITLE

  index_title = _("Dashboard")
  site_url = None  # no public web site: hide "View site"

  def get_urls(self) -> list[URLResolver | URLPattern]:
    from assistant import admin_exports, analytics_views  # they import models: not at app loading

    extra = [
      path("analytics/", self.admin_view(analytics_views.analytics_view), name="analytics"),
      path(
        "analytics/<slug:table>.csv",
        self.admin_view(analytics_views.analytics_csv_view),
        name="analytics_csv",
      ),
      path("exports/", self.admin_view(admin_exports.export_list_view), name="exports"),
      path(
        "exports/<slug:job_id>/download/",
        self.admin_view(admin_exports.export_download_view),
        name="export_download",
      ),
      path(
        "exports/<slug:job_id>/delete/",
        self.admin_view(admin_exports.export_delete_view),
        name="export_delete",
      ),
    ]
    return extra + super().get_urls()

  def each_context(self, request: HttpRequest) -> dict:
    from assistant.admin_auth import can_translate

    context = super().each_context(request)
    user = request.user
    context["can_view_analytics"] = user.is_active and user.has_perm(PERM_VIEW_ANALYTICS)
    context["can_translate"] = can_translate(user)
    return context


class AssistantAdminConfig(AdminConfig):
  """Installs AssistantAdminSite as `django.contrib.admin.site`."""

  default_site = "assistant.admin_site.AssistantAdminSite"
