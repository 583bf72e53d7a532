from django.db import models
from django.utils.translation import gettext_lazy as _


class ProcessedUpdate(models.Model):
  """Telegram update ids already taken, so a redelivered update is answered once."""

  update_id = models.BigIntegerField(_("update id"), unique=True)
  created_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)

  class Meta:
    verbose_name = _("processed update")
    verbose_name_plural = _("processed updates")

  def __str__(self) -> str:
    return str(self.update_id)
