"""Sentry sink: errors become Sentry events, INFO and above become breadcrumbs.

`send_default_pii=False`, and every event and transaction passes through `redact_event`, which
removes secrets and masks phones/e-mails in every string it carries (messages, breadcrumbs such as
the HTTP client's request URLs with the bot token in them, exception values, local variables).
"""

import logging
from typing import Any

from assistant.logging_redaction import redact


def redact_value(value: Any) -> Any:
  """The same structure with every string redacted."""
  if isinstance(value, str):
    return redact(value, mask_pii=True)
  if isinstance(value, dict):
    return {key: redact_value(item) for key, item in value.items()}
  if isinstance(value, list | tuple):
    return [redact_value(item) for item in value]
  return value


def redact_event(event: dict, hint: dict | None = None) -> dict:
  """Sentry `before_send` / `before_send_transaction` hook."""
  return redact_value(event)


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float, release: str) -> None:
  """Start the Sentry SDK with the Django and logging integrations."""
  import sentry_sdk
  from sentry_sdk.integrations.django import DjangoIntegration
  from sentry_sdk.integrations.logging import LoggingIntegration

  sentry_sdk.init(
    dsn=dsn,
    environment=environment,
    release=release or None,
    traces_sample_rate=traces_sample_rate,
    send_default_pii=False,
    before_send=redact_event,
    before_send_transaction=redact_event,
    integrations=[
      DjangoIntegration(),
      LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
    ],
  )
