from django.db import models
from django.utils.translation import gettext_lazy as _


class LogRecord(models.Model):
  """A log record kept by the database log sink (see docs/logging.md)."""

  created_at = models.DateTimeField(_("time"), db_index=True)
  level = models.PositiveSmallIntegerField(_("level number"), db_index=True)
  level_name = models.CharField(_("level"), max_length=10)
  logger_name = models.CharField(_("logger"), max_length=200, db_index=True)
  message = models.TextField(_("message"))
  module = models.CharField(_("module"), max_length=200, blank=True)
  func_name = models.CharField(_("function"), max_length=200, blank=True)
  line_no = models.PositiveIntegerField(_("line"), null=True, blank=True)
  exception = models.TextField(_("exception"), blank=True)

  class Meta:
    verbose_name = _("log record")
    verbose_name_plural = _("log records")
    ordering = ["-created_at"]
    indexes = [models.Index(fields=["-created_at", "level"], name="log_created_level_idx")]

  def __str__(self) -> str:
    return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.level_name} {self.logger_name}"
