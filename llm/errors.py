"""The LLM app's domain errors: one `LLMError` with a `permanent` flag decides retry vs. fallback."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class LLMError(Exception):
  """A model failed. `permanent` (bad key, unknown model, bad request): don't retry, alert, move on.

  Transient errors (timeout, 429, 5xx, connection, malformed answer) are retried with backoff first.
  """

  def __init__(
    self,
    message: str,
    *,
    permanent: bool = False,
    model_name: str = "",
    retry_after: float | None = None,
  ) -> None:
    super().__init__(message)
    self.permanent = permanent
    self.model_name = model_name
    self.retry_after = retry_after  # seconds the server asked us to wait (429/503), if it said


class LLMUnavailable(LLMError):
  """No model is configured, or every model in the chain failed."""

  def __init__(self, message: str, *, errors: list[LLMError] | None = None) -> None:
    errors = list(errors or [])
    permanent = bool(errors) and all(error.permanent for error in errors)
    super().__init__(
      message, permanent=permanent, model_name=errors[-1].model_name if errors else ""
    )
    self.errors = errors


class LLMKeyError(LLMError):
  """A model's API key can't be decrypted with LLM_MODEL_DECRYPT_KEY (wrong or missing master key)."""

  def __init__(self, message: str, *, model_name: str) -> None:
    super().__init__(message, permanent=True, model_name=model_name)


class MasterKeyMissing(ImproperlyConfigured):
  """LLM_MODEL_DECRYPT_KEY is empty but a key must be encrypted or decrypted."""


class LLMModelNotSelectable(Exception):
  """The customer asked for a model that doesn't exist, is inactive or is not open to customers."""

  def __init__(self, provider_model_name: str, *, valid: list[str]) -> None:
    shown = ", ".join(valid) or "none"
    super().__init__(f"Model {provider_model_name!r} can't be selected; valid choices: {shown}.")
    self.provider_model_name = provider_model_name
    self.valid = valid


class RegistryError(ImproperlyConfigured):
  """The model registry (file, URL or database) is invalid; `problems` has one line per bad row."""

  def __init__(self, origin: str, problems: list[str]) -> None:
    count = len(problems)
    lines = "\n".join(f"  - {problem}" for problem in problems)
    super().__init__(f"LLM model registry {origin} has {count} problem(s):\n{lines}")
    self.origin = origin
    self.problems = problems
