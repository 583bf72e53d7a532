from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LLMModel(models.Model):
  """An OpenAI-protocol endpoint + model, as a data row. The API key is stored only encrypted."""

  class Source(models.TextChoices):
    FILE = "file", _("file")
    DATABASE = "db", _("database")
    URL = "url", _("URL")

  provider_model_name = models.CharField(
    _("provider model name"),
    max_length=200,
    unique=True,
    help_text=_("Unique name customers and settings use, e.g. openai/gpt-4o-mini."),
  )
  provider = models.CharField(_("provider"), max_length=100)
  model = models.CharField(_("model"), max_length=200)
  # Not a URLField: Django's URL validator refuses hosts without a dot, like a docker service
  # "http://ollama:11434/v1"; llm.schema.url_is_valid checks http(s) + host instead.
  base_url = models.CharField(
    _("base URL"), max_length=500, help_text=_("e.g. https://api.openai.com/v1")
  )
  encrypted_api_key = models.TextField(_("encrypted API key"), blank=True)
  params = models.JSONField(_("parameters"), default=dict, blank=True)
  is_default = models.BooleanField(_("default"), default=False)
  active = models.BooleanField(_("active"), default=True)
  customer_selectable = models.BooleanField(_("customers may pick it"), default=True)
  fallback_order = models.PositiveIntegerField(_("fallback order"), default=100)
  context_window = models.PositiveIntegerField(_("context window (tokens)"), null=True, blank=True)
  price_prompt_per_1k = models.DecimalField(
    _("price per 1K prompt tokens"), max_digits=12, decimal_places=6, default=Decimal("0")
  )
  price_completion_per_1k = models.DecimalField(
    _("price per 1K completion tokens"), max_digits=12, decimal_places=6, default=Decimal("0")
  )
  source = models.CharField(
    _("source"), max_length=8, choices=Source.choices, default=Source.DATABASE
  )
  # Hash of the row as last synced from the file/URL: unchanged source rows keep admin edits.
  source_hash = models.CharField(_("source hash"), max_length=64, blank=True, editable=False)
  created_at = models.DateTimeField(_("created"), auto_now_add=True)
  updated_at = models.DateTimeField(_("updated"), auto_now=True)

  class Meta:
    verbose_name = _("LLM model")
    verbose_name_plural = _("LLM models")
    ordering = ["fallback_order", "provider_model_name"]

  def __str__(self) -> str:
    return self.provider_model_name


class Prompt(models.Model):
  """A named text (system prompt, greeting, help...) per language; every save keeps a version."""

  key = models.SlugField(_("key"), max_length=100)
  language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
  text = models.TextField(_("text"))
  active = models.BooleanField(_("active"), default=True)
  version = models.PositiveIntegerField(_("version"), default=1)
  updated_at = models.DateTimeField(_("updated"), auto_now=True)

  class Meta:
    verbose_name = _("prompt")
    verbose_name_plural = _("prompts")
    ordering = ["key", "language"]
    permissions = [("translate_interface", "Can translate the interface")]
    constraints = [
      models.UniqueConstraint(fields=["key", "language"], name="prompt_key_language_uniq")
    ]

  def __str__(self) -> str:
    return f"{self.key} [{self.language}]"


class PromptVersion(models.Model):
  """An immutable snapshot of a prompt's text; assistant messages and feedback point at one."""

  prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")
  version = models.PositiveIntegerField(_("version"))
  text = models.TextField(_("text"))
  created_at = models.DateTimeField(_("created"), auto_now_add=True)
  created_by = models.ForeignKey(
    settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
  )

  class Meta:
    verbose_name = _("prompt version")
    verbose_name_plural = _("prompt versions")
    ordering = ["prompt", "-version"]
    constraints = [
      models.UniqueConstraint(fields=["prompt", "version"], name="prompt_version_uniq")
    ]

  def __str__(self) -> str:
    return f"{self.prompt} v{self.version}"
