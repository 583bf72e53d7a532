"""Admin for the database log sink: a read-only, filterable list of log records."""

import logging

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from assistant.models import LogRecord

LEVEL_COLOURS = {
  logging.DEBUG: "#6c757d",
  logging.INFO: "#0d6efd",
  logging.WARNING: "#b58105",
  logging.ERROR: "#dc3545",
  logging.CRITICAL: "#842029",
}


class MinimumLevelFilter(admin.SimpleListFilter):
  """'Warning' shows warnings and everything more severe."""

  title = _("level (at least)")
  parameter_name = "level_gte"

  def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
    return [(str(level), logging.getLevelName(level)) for level in LEVEL_COLOURS]

  def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
    value = self.value()
    if value and value.isdigit():
      return queryset.filter(level__gte=int(value))
    return queryset


@admin.register(LogRecord)
class LogRecordAdmin(admin.ModelAdmin):
  list_display = ["created_at", "coloured_level", "logger_name", "short_message"]
  list_filter = [MinimumLevelFilter, ("logger_name", admin.AllValuesFieldListFilter), "created_at"]
  search_fields = ["message", "logger_name", "exception"]
  date_hierarchy = "created_at"
  list_per_page = 100
  show_full_result_count = False  # COUNT(*) over millions of rows would slow every page
  fields = [
    "created_at",
    "level_name",
    "logger_name",
    "module",
    "func_name",
    "line_no",
    "message",
    "exception",
  ]
  readonly_fields = fields

  @admin.display(description=_("level"), ordering="level")
  def coloured_level(self, record: LogRecord) -> str:
    colour = LEVEL_COLOURS.get(record.level, "#000")
    return format_html('<b style="color: {}">{}</b>', colour, record.level_name)

  @admin.display(description=_("message"))
  def short_message(self, record: LogRecord) -> str:
    first_line = record.message.splitlines()[0] if record.message else ""
    return first_line if len(first_line) <= 150 else first_line[:147] + "..."

  def has_add_permission(self, request: HttpRequest) -> bool:
    return False

  def has_change_permission(self, request: HttpRequest, obj: LogRecord | None = None) -> bool:
    return False
