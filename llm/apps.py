from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LlmConfig(AppConfig):
  name = "llm"
  verbose_name = _("Language models and prompts")

  def ready(self) -> None:
    from llm import checks  # noqa: F401  (registers the system checks)
