"""Admin for Telegram update ids already processed (read-only: the bot writes them)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from assistant.admin_paging import FastCountPaginator
from bot.models import ProcessedUpdate


@admin.register(ProcessedUpdate)
class ProcessedUpdateAdmin(admin.ModelAdmin):
  paginator = FastCountPaginator
  show_full_result_count = False
  show_facets = admin.ShowFacets.NEVER
  list_display = ("update_id", "created_at")
  list_filter = (("created_at", admin.DateFieldListFilter),)
  search_fields = ("=update_id",)
  ordering = ("-id",)

  def has_add_permission(self, request: HttpRequest) -> bool:
    return False

  def has_change_permission(self, request: HttpRequest, obj: ProcessedUpdate | None = None) -> bool:
    return False
