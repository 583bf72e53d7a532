"""Admin for what the assistant knows (catalog, FAQ, scenarios) and what customers thought (feedback)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from leads.admin_display import admin_link, question_subquery
from leads.content_schema import ContentError, scenario_steps_parse
from leads.models import CatalogService, FAQEntry, Feedback, Scenario
from leads.resources import CatalogServiceResource, FAQEntryResource


@admin.register(CatalogService)
class CatalogServiceAdmin(ImportExportModelAdmin):
  resource_classes = [CatalogServiceResource]
  list_display = (
    "name",
    "slug",
    "language",
    "price",
    "currency",
    "active",
    "ordering",
    "updated_at",
  )
  list_filter = ("language", "active")
  list_editable = ("active", "ordering")
  search_fields = ("slug", "name", "description")
  ordering = ("ordering", "name")


@admin.register(FAQEntry)
class FAQEntryAdmin(ImportExportModelAdmin):
  resource_classes = [FAQEntryResource]
  list_display = ("short_question", "key", "language", "active", "updated_at")
  list_filter = ("language", "active")
  list_editable = ("active",)
  search_fields = ("key", "question", "answer", "keywords")

  @admin.display(description=_("question"), ordering="question")
  def short_question(self, entry: FAQEntry) -> str:
    return Truncator(entry.question).chars(90)


class StepsField(forms.JSONField):
  """Scenario steps as indented, readable JSON (Cyrillic kept as is)."""

  def prepare_value(self, value: Any) -> str:
    if isinstance(value, forms.fields.InvalidJSONInput):
      return value
    return json.dumps(value, ensure_ascii=False, indent=2)


class ScenarioForm(forms.ModelForm):
  steps = StepsField(
    label=_("steps"),
    widget=forms.Textarea(attrs={"rows": 18, "cols": 100, "class": "vLargeTextField"}),
    help_text=_(
      'A list of steps: [{"key": "budget", "question": "Your budget?", "options": ["< 1000", "more"]}]. '
      "Keys are latin codes, unique in the scenario; options (button labels) are optional."
    ),
  )

  class Meta:
    model = Scenario
    fields = ("key", "language", "title", "steps", "active")

  def clean_steps(self) -> list[dict]:
    # The content file's own rules, so a scenario saved here loads the same way from the file.
    try:
      return scenario_steps_parse(self.cleaned_data["steps"])
    except ContentError as error:
      raise forms.ValidationError(error.problems) from None


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
  form = ScenarioForm
  list_display = ("title", "key", "language", "step_count", "active", "updated_at")
  list_filter = ("language", "active")
  search_fields = ("key", "title")

  @admin.display(description=_("steps"))
  def step_count(self, scenario: Scenario) -> int:
    return len(scenario.steps) if isinstance(scenario.steps, list) else 0


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
  list_display = (
    "created_at",
    "rating_mark",
    "customer_link",
    "question",
    "answer",
    "comment",
    "prompt_version_link",
  )
  list_filter = ("rating", ("created_at", admin.DateFieldListFilter))
  search_fields = ("comment", "message__text")
  list_select_related = ("customer", "message", "prompt_version__prompt")
  readonly_fields = (
    "created_at",
    "rating",
    "customer_link",
    "question",
    "answer",
    "comment",
    "prompt_version_link",
  )
  fields = readonly_fields
  ordering = ("-id",)
  show_full_result_count = False

  def get_queryset(self, request: HttpRequest) -> QuerySet:
    return super().get_queryset(request).annotate(question_text=question_subquery("message__"))

  def has_add_permission(self, request: HttpRequest) -> bool:
    return False

  @admin.display(description=_("rating"), ordering="rating")
  def rating_mark(self, feedback: Feedback) -> str:
    return feedback.get_rating_display()

  @admin.display(description=_("customer"), ordering="customer")
  def customer_link(self, feedback: Feedback) -> SafeString | str:
    return admin_link(feedback.customer)

  @admin.display(description=_("question"))
  def question(self, feedback: Feedback) -> str:
    return Truncator(getattr(feedback, "question_text", None) or "—").chars(150)

  @admin.display(description=_("answer"))
  def answer(self, feedback: Feedback) -> SafeString | str:
    message = feedback.message
    if message is None:
      return "—"
    url = reverse("admin:memory_chat_transcript", args=[message.chat_id])
    text = Truncator(message.text).chars(200)
    return format_html('<a href="{}?at={}#m{}">{}</a>', url, message.pk, message.pk, text)

  @admin.display(description=_("prompt version"))
  def prompt_version_link(self, feedback: Feedback) -> SafeString | str:
    version = feedback.prompt_version
    if version is None:
      return "—"
    url = reverse("admin:llm_prompt_change", args=[version.prompt_id])
    return format_html('<a href="{}#v{}">{}</a>', url, version.version, str(version))
