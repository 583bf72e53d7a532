"""Admin for prompts: edit (each text change is a version), history with diffs, revert, preview.

Saving goes through `llm.prompts.prompt_update`, and the engine reads prompts from the database
on every message, so a change applies to the next message without a restart.
"""

from __future__ import annotations

import asyncio
import difflib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import resources
from import_export.admin import ImportExportModelAdmin

from leads.models import Customer
from leads.selectors import catalog_search, faq_search
from llm.client import Completion, complete
from llm.errors import LLMError
from llm.models import LLMModel, Prompt, PromptVersion
from llm.prompts import SYSTEM_KEY, prompt_text, prompt_update, system_prompt_build


class PromptResource(resources.ModelResource):
  """Prompts round-trip as key, language, text, active; an import makes versions like an edit."""

  class Meta:
    model = Prompt
    import_id_fields = ("key", "language")
    fields = ("key", "language", "text", "active")
    export_order = fields
    skip_unchanged = True
    report_skipped = True

  def before_import(self, dataset: Any, **kwargs: Any) -> None:
    self._user = kwargs.get("user")

  def do_instance_save(self, instance: Prompt, is_create: bool) -> None:
    prompt_update(prompt=instance, text=instance.text, user=getattr(self, "_user", None))


def text_diff(previous: str, current: str) -> SafeString:
  """A unified diff of two texts as HTML: added lines green, removed lines red."""
  lines = difflib.unified_diff(previous.splitlines(), current.splitlines(), lineterm="", n=2)
  html = []
  for line in list(lines)[2:]:  # skip the ---/+++ file headers
    css = {"+": "diff-add", "-": "diff-del", "@": "diff-hunk"}.get(line[:1], "")
    html.append(f'<span class="{css}">{escape(line)}</span>' if css else str(escape(line)))
  return mark_safe('<pre class="diff">' + "\n".join(html) + "</pre>")  # noqa: S308 - escaped


class PromptVersionInline(admin.TabularInline):
  model = PromptVersion
  extra = 0
  can_delete = False
  ordering = ("-version",)
  fields = ("version", "created_at", "created_by", "changes", "revert")
  readonly_fields = fields
  verbose_name_plural = gettext_lazy("version history")

  def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
    return False

  def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
    return False

  @admin.display(description=gettext_lazy("changes"))
  def changes(self, version: PromptVersion) -> SafeString:
    previous = (
      PromptVersion.objects.filter(prompt_id=version.prompt_id, version__lt=version.version)
      .order_by("-version")
      .values_list("text", flat=True)
      .first()
    )
    if previous is None:
      return format_html("<em>{}</em><pre class='diff'>{}</pre>", _("First version"), version.text)
    if previous == version.text:
      return format_html("<em>{}</em>", _("Same text as the previous version"))
    return text_diff(previous, version.text)

  @admin.display(description="")
  def revert(self, version: PromptVersion) -> SafeString | str:
    if version.prompt.version == version.version:
      return format_html("<strong>{}</strong>", _("current"))
    url = reverse("admin:llm_prompt_revert", args=[version.prompt_id, version.pk])
    # The inline sits inside the change form; formaction posts that form (with its CSRF token)
    # to the revert URL instead of nesting a second form.
    return format_html(
      '<button type="submit" class="button" formaction="{}" formmethod="post">{}</button>',
      url,
      _("Revert to this version"),
    )


class PromptForm(forms.ModelForm):
  class Meta:
    model = Prompt
    fields = ("key", "language", "text", "active")
    widgets = {"text": forms.Textarea(attrs={"rows": 16, "cols": 100, "class": "vLargeTextField"})}


@admin.register(Prompt)
class PromptAdmin(ImportExportModelAdmin):
  form = PromptForm
  resource_classes = [PromptResource]
  list_display = ("key", "language", "version", "active", "updated_at")
  list_filter = ("language", "active", "key")
  search_fields = ("key", "text")
  readonly_fields = ("version", "updated_at")
  inlines = [PromptVersionInline]
  change_form_template = "admin/llm/prompt/change_form.html"

  def get_urls(self) -> list:
    view = self.admin_site.admin_view
    return [
      path("<int:pk>/revert/<int:version_pk>/", view(self.revert_view), name="llm_prompt_revert"),
      path("<int:pk>/preview/", view(self.preview), name="llm_prompt_preview"),
    ] + super().get_urls()

  def save_model(self, request: HttpRequest, obj: Prompt, form: Any, change: bool) -> None:
    # A new text becomes a new version, saved by the same service the content loader uses.
    prompt_update(prompt=obj, text=form.cleaned_data["text"], user=request.user)

  def revert_view(self, request: HttpRequest, pk: int, version_pk: int) -> HttpResponse:
    if request.method != "POST":
      return HttpResponseNotAllowed(["POST"])
    return _revert(self, request, pk, version_pk)

  def preview(self, request: HttpRequest, pk: int) -> HttpResponse:
    prompt = get_object_or_404(Prompt, pk=pk)
    if not self.has_view_permission(request, prompt):
      raise PermissionDenied
    return _preview(self, request, prompt)


def _revert(
  model_admin: PromptAdmin, request: HttpRequest, pk: int, version_pk: int
) -> HttpResponse:
  prompt = get_object_or_404(Prompt, pk=pk)
  if not model_admin.has_change_permission(request, prompt):
    raise PermissionDenied
  version = get_object_or_404(PromptVersion, pk=version_pk, prompt=prompt)
  current = prompt_update(prompt=prompt, text=version.text, user=request.user)
  messages.success(
    request,
    _("Reverted to the text of version %(old)d; it is now version %(new)d.")
    % {"old": version.version, "new": current.version},
  )
  return redirect("admin:llm_prompt_change", prompt.pk)


# --- "test this prompt" ---------------------------------------------------------------------------
PREVIEW_TIMEOUT = 90  # seconds; the LLM client's own timeouts and fallbacks apply inside


class PreviewForm(forms.Form):
  question = forms.CharField(
    label=gettext_lazy("Sample question"),
    max_length=2000,
    widget=forms.TextInput(attrs={"size": 80}),
  )
  text = forms.CharField(
    label=gettext_lazy("Prompt text to test"),
    widget=forms.Textarea(attrs={"rows": 10, "cols": 100, "class": "vLargeTextField"}),
    help_text=gettext_lazy("Edit freely: the preview uses this text without saving it."),
  )
  model = forms.ChoiceField(label=gettext_lazy("Model"), required=False)
  ask_llm = forms.BooleanField(label=gettext_lazy("Also ask the LLM"), required=False, initial=True)

  def __init__(self, *args: Any, **kwargs: Any) -> None:
    super().__init__(*args, **kwargs)
    names = LLMModel.objects.filter(active=True).values_list("provider_model_name", flat=True)
    self.fields["model"].choices = [("", _("default model")), *((name, name) for name in names)]


def preview_build(*, prompt: Prompt, text: str, question: str) -> str:
  """What the engine would send as the system prompt (or the rendered text) with `text` saved.

  The draft is written inside a transaction that is rolled back, so the real builder runs on
  it and nothing is kept.
  """
  with transaction.atomic():
    draft = Prompt.objects.select_for_update().get(pk=prompt.pk)
    draft.text = text
    draft.save(update_fields=["text"])
    built = _built_text(prompt=draft, question=question)
    transaction.set_rollback(True)
  return built


def _built_text(*, prompt: Prompt, question: str) -> str:
  language = prompt.language
  customer = Customer(first_name=_("Anna"), language=language)
  if prompt.key != SYSTEM_KEY:
    return prompt_text(key=prompt.key, language=language, name=customer.first_name, answer="…")
  faq = [entry for entry, _score in faq_search(query=question, language=language)]
  services = catalog_search(query=question, language=language)
  system, _version = system_prompt_build(
    language=language, faq=faq, services=services, customer=customer
  )
  return system


def preview_answer(*, system: str, question: str, model_name: str | None) -> Completion:
  """Ask the LLM on a thread of its own: safe from a sync view under WSGI or ASGI alike."""
  messages_ = [{"role": "system", "content": system}, {"role": "user", "content": question}]
  with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prompt-preview") as pool:
    future = pool.submit(asyncio.run, complete(messages=messages_, model_name=model_name))
    return future.result(timeout=PREVIEW_TIMEOUT)


def _preview(model_admin: PromptAdmin, request: HttpRequest, prompt: Prompt) -> HttpResponse:
  initial = {"text": prompt.text, "question": ""}
  form = PreviewForm(request.POST or None, initial=initial)
  context: dict[str, Any] = {
    **model_admin.admin_site.each_context(request),
    "title": _("Test prompt %(prompt)s") % {"prompt": prompt},
    "prompt": prompt,
    "opts": Prompt._meta,
    "form": form,
    "is_system": prompt.key == SYSTEM_KEY,
  }
  if request.method == "POST" and form.is_valid():
    data = form.cleaned_data
    built = preview_build(prompt=prompt, text=data["text"], question=data["question"])
    context["built"] = built
    if prompt.key == SYSTEM_KEY and data["ask_llm"]:
      try:
        context["completion"] = preview_answer(
          system=built, question=data["question"], model_name=data["model"] or None
        )
      except LLMError as error:
        context["llm_error"] = str(error)
  return TemplateResponse(request, "admin/llm/prompt/preview.html", context)
