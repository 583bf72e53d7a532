"""The LLM model admin form: takes a plaintext API key once and stores only its Fernet token."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from llm.crypto import encrypt_api_key, master_keys
from llm.models import LLMModel
from llm.providers import PROVIDERS, provider_get
from llm.schema import params_problems, url_is_valid


def _provider_choices() -> list[tuple[str, str]]:
  return [(kind, f"{provider_get(kind).label} ({kind})") for kind in sorted(PROVIDERS)]


class LLMModelForm(forms.ModelForm):
  """`api_key` is write-only: a password input never rendered back; empty keeps the stored key."""

  provider = forms.ChoiceField(label=_("provider"), choices=_provider_choices)
  api_key = forms.CharField(
    label=_("API key"),
    required=False,
    strip=True,
    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    help_text=_(
      "Paste the provider's key to set or replace it; it is stored encrypted and never shown. "
      "Leave empty to keep the current key."
    ),
  )
  clear_api_key = forms.BooleanField(
    label=_("remove the stored key"),
    required=False,
    help_text=_("For local servers (Ollama, llama.cpp) that need no key."),
  )

  class Meta:
    model = LLMModel
    fields = [
      "provider_model_name",
      "provider",
      "model",
      "base_url",
      "active",
      "customer_selectable",
      "fallback_order",
      "params",
      "context_window",
      "price_prompt_per_1k",
      "price_completion_per_1k",
    ]

  def __init__(self, *args: Any, **kwargs: Any) -> None:
    super().__init__(*args, **kwargs)
    self.fields["base_url"].required = False
    self.fields["base_url"].help_text = _("Empty: the provider's usual address.")

  def clean_base_url(self) -> str:
    url = (self.cleaned_data.get("base_url") or "").strip().rstrip("/")
    if url and not url_is_valid(url):
      raise forms.ValidationError(_("Enter an http:// or https:// URL with a host."))
    return url

  def clean_params(self) -> dict:
    params = self.cleaned_data.get("params") or {}
    problems = params_problems(params)
    if problems:
      raise forms.ValidationError(problems)
    return params

  def clean(self) -> dict[str, Any]:
    data = super().clean()
    provider = data.get("provider")
    if provider not in PROVIDERS:
      return data
    if not data.get("base_url"):
      data["base_url"] = provider_get(provider).default_base_url
      if not data["base_url"]:
        self.add_error("base_url", _("This provider has no usual address: enter one."))
    new_key, clear = data.get("api_key"), data.get("clear_api_key")
    if new_key and clear:
      self.add_error("clear_api_key", _("Either enter a new key or remove the stored one."))
    has_key = bool(new_key) or (bool(self.instance.encrypted_api_key) and not clear)
    if provider_get(provider).requires_key and not has_key:
      self.add_error("api_key", _("This provider needs an API key."))
    if new_key and not master_keys():
      self.add_error("api_key", _("LLM_MODEL_DECRYPT_KEY is not set: the key can't be stored."))
    return data

  def save(self, commit: bool = True) -> LLMModel:
    model = super().save(commit=False)
    if self.cleaned_data.get("api_key"):
      model.encrypted_api_key = encrypt_api_key(self.cleaned_data["api_key"])
    elif self.cleaned_data.get("clear_api_key"):
      model.encrypted_api_key = ""
    if commit:
      model.save()
    return model
