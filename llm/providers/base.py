"""The provider base class: a generic OpenAI-compatible endpoint."""

from __future__ import annotations


class Provider:
  """Any OpenAI-compatible endpoint; subclasses only change the defaults."""

  kind = "openai_compatible"
  label = "OpenAI-compatible"
  default_base_url = ""  # used when a registry row has no base_url
  requires_key = False  # a row without encrypted_api_key is an error when True
  # Local servers ignore the key but the SDK wants one; this harmless placeholder is sent instead.
  placeholder_key = "no-key"

  def default_headers(self) -> dict[str, str]:
    """Extra HTTP headers sent with every request."""
    return {}
