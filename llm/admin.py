"""Admin for LLM models and usage (see also llm/admin_prompts.py for prompts and versions)."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Case, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters

from llm import admin_prompts  # noqa: F401  (registers the prompt admin)
from llm.admin_forms import LLMModelForm
from llm.admin_usage import usage_view
from llm.models import LLMModel
from llm.selectors import model_get_default
from llm.services import model_make_default, models_set_flag


@admin.register(LLMModel)
class LLMModelAdmin(admin.ModelAdmin):
  form = LLMModelForm
  change_list_template = "admin/llm/llmmodel/change_list.html"
  list_display = [
    "provider_model_name",
    "provider",
    "model",
    "is_effective_default",
    "active",
    "customer_selectable",
    "fallback_order",
    "has_key",
    "source",
  ]
  list_display_links = ["provider_model_name"]
  list_editable = ["fallback_order"]
  list_filter = ["provider", "active", "customer_selectable", "source"]
  search_fields = ["provider_model_name", "model", "base_url"]
  readonly_fields = ["source", "has_key", "updated_at"]
  actions = [
    "make_default",
    "activate",
    "deactivate",
    "allow_selection",
    "disallow_selection",
  ]
  fieldsets = [
    (None, {"fields": ["provider_model_name", "provider", "model", "base_url"]}),
    (_("API key"), {"fields": ["has_key", "api_key", "clear_api_key"]}),
    (_("Use"), {"fields": ["active", "customer_selectable", "fallback_order"]}),
    (
      _("Parameters and prices"),
      {"fields": ["params", "context_window", "price_prompt_per_1k", "price_completion_per_1k"]},
    ),
    (_("Origin"), {"fields": ["source", "updated_at"]}),
  ]

  def get_urls(self) -> list[URLPattern]:
    usage = path("usage/", self.admin_site.admin_view(self._usage_view), name="llm_llmmodel_usage")
    return [usage, *super().get_urls()]

  def _usage_view(self, request: HttpRequest):
    if not self.has_view_permission(request):
      raise PermissionDenied
    return usage_view(request)

  def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
    extra = {"usage_url": reverse("admin:llm_llmmodel_usage"), **(extra_context or {})}
    return super().changelist_view(request, extra_context=extra)

  def get_queryset(self, request: HttpRequest) -> QuerySet[LLMModel]:
    default = model_get_default()
    is_default = When(pk=default.pk, then=Value(True)) if default else When(pk=None, then=False)
    return (
      super()
      .get_queryset(request)
      .annotate(
        effective_default=Case(is_default, default=Value(False), output_field=BooleanField())
      )
    )

  @method_decorator(sensitive_post_parameters("api_key"))
  def changeform_view(self, request: HttpRequest, *args, **kwargs):
    return super().changeform_view(request, *args, **kwargs)

  def get_form(self, request: HttpRequest, obj: LLMModel | None = None, **kwargs):
    kwargs["fields"] = None  # the fieldsets name form-only fields (api_key, clear_api_key)
    return super().get_form(request, obj, **kwargs)

  def get_fieldsets(self, request: HttpRequest, obj: LLMModel | None = None):
    fieldsets = super().get_fieldsets(request, obj)
    if obj is not None and obj.source != LLMModel.Source.DATABASE:
      note = _(
        "This model comes from the %(source)s: your edits stay until that source changes this "
        "model."
      ) % {"source": obj.get_source_display()}
      fieldsets = [(None, {"fields": fieldsets[0][1]["fields"], "description": note})] + list(
        fieldsets[1:]
      )
    return fieldsets

  @admin.display(description=_("default"), boolean=True, ordering="-effective_default")
  def is_effective_default(self, obj: LLMModel) -> bool:
    """The model answering by default now (DEFAULT_LLM_MODEL, the admin's pick or the first)."""
    return bool(getattr(obj, "effective_default", False))

  @admin.display(description=_("key set"), boolean=True)
  def has_key(self, obj: LLMModel) -> bool:
    return bool(obj.encrypted_api_key)

  @admin.action(description=_("Make the selected model the default"))
  def make_default(self, request: HttpRequest, queryset: QuerySet[LLMModel]) -> None:
    if queryset.count() != 1:
      self.message_user(request, _("Select exactly one model."), messages.ERROR)
      return
    model = model_make_default(model=queryset.get())
    self.message_user(request, _("%(name)s is now the default.") % {"name": model})
    if (wanted := settings.DEFAULT_LLM_MODEL) and wanted != model.provider_model_name:
      self.message_user(
        request,
        _("DEFAULT_LLM_MODEL=%(name)s in the environment still decides the default.")
        % {"name": wanted},
        messages.WARNING,
      )

  def _flag(self, request: HttpRequest, queryset: QuerySet, field: str, value: bool) -> None:
    changed = models_set_flag(models=list(queryset), field=field, value=value)
    self.message_user(
      request,
      ngettext("%(count)d model changed.", "%(count)d models changed.", changed)
      % {"count": changed},
    )

  @admin.action(description=_("Activate the selected models"))
  def activate(self, request: HttpRequest, queryset: QuerySet[LLMModel]) -> None:
    self._flag(request, queryset, "active", True)

  @admin.action(description=_("Deactivate the selected models"))
  def deactivate(self, request: HttpRequest, queryset: QuerySet[LLMModel]) -> None:
    self._flag(request, queryset, "active", False)

  @admin.action(description=_("Let customers pick the selected models"))
  def allow_selection(self, request: HttpRequest, queryset: QuerySet[LLMModel]) -> None:
    self._flag(request, queryset, "customer_selectable", True)

  @admin.action(description=_("Don't let customers pick the selected models"))
  def disallow_selection(self, request: HttpRequest, queryset: QuerySet[LLMModel]) -> None:
    self._flag(request, queryset, "customer_selectable", False)
