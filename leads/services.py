"""Writes for customers, leads and feedback. Contacts are stored only with consent."""

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from assistant.prepared import PreparedQuery
from leads.contacts import mask_email, mask_phone
from leads.models import CatalogService, Customer, Feedback, Lead
from leads.selectors import lead_get_open
from memory.models import Message
from memory.services import savepoint

logger = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 500  # one scenario answer; longer free text is cut
LAST_SEEN_PRECISION = dt.timedelta(minutes=1)
# Every message looks its sender up: compiled once (unique on channel + external id).
_CUSTOMER_BY_EXTERNAL_ID = PreparedQuery(
  lambda p: Customer.objects.filter(
    channel=p.str("channel"), external_id=p.str("external_id")
  ).order_by()[:1]
)


class ConsentRequired(Exception):
  """Personal data can't be stored: the customer has not agreed to its processing."""


def language_from_code(code: str) -> str:
  """Our language for a channel's language code ("en-US" -> "en"); unknown -> LANGUAGE_CODE."""
  base = (code or "").split("-")[0].split("_")[0].lower()
  supported = {language for language, _name in settings.LANGUAGES}
  return base if base in supported else settings.LANGUAGE_CODE


def customer_upsert(
  *,
  channel: str,
  external_id: str,
  username: str = "",
  first_name: str = "",
  last_name: str = "",
  language_code: str = "",
) -> tuple[Customer, bool]:
  """The customer behind a channel user, created on first contact; profile names kept fresh.

  The returned customer's `previously_seen_at` is `last_seen_at` as it was before this call (None
  for a new customer): `last_seen_at` moves on every message at least LAST_SEEN_PRECISION apart,
  so a customer previously seen long ago sent nothing in between.
  """
  names = {"username": username[:100], "first_name": first_name[:200], "last_name": last_name[:200]}
  now = timezone.now()
  customer = _CUSTOMER_BY_EXTERNAL_ID.first(channel=channel, external_id=external_id)
  if customer is None:
    try:
      with savepoint():
        customer = Customer.objects.create(
          channel=channel,
          external_id=external_id,
          language=language_from_code(language_code),
          last_seen_at=now,
          **names,
        )
    except IntegrityError:  # the same person's parallel update created it first
      customer = Customer.objects.get(channel=channel, external_id=external_id)
    else:
      logger.info("New customer #%s on %s (language %s)", customer.pk, channel, customer.language)
      customer.previously_seen_at = None
      return customer, True
  customer.previously_seen_at = customer.last_seen_at
  changed = [field for field, value in names.items() if value and getattr(customer, field) != value]
  for field in changed:
    setattr(customer, field, names[field])
  seen = customer.last_seen_at
  if changed or seen is None or now - seen > LAST_SEEN_PRECISION:  # not a write on every message
    customer.last_seen_at = now
    customer.save(update_fields=[*changed, "last_seen_at", "updated_at"])
  return customer, False


def customer_language_set(*, customer: Customer, language: str) -> Customer:
  """Remember the customer's language (ru/en)."""
  if language not in {code for code, _name in settings.LANGUAGES}:
    raise ValueError(f"Unsupported language {language!r}")
  if customer.language != language:
    customer.language = language
    customer.save(update_fields=["language", "updated_at"])
    logger.info("Customer #%s switched language to %s", customer.pk, language)
  return customer


def customer_consent_set(*, customer: Customer, given: bool) -> Customer:
  """Store the customer's answer to the personal-data consent request and its time."""
  customer.consent = Customer.Consent.GIVEN if given else Customer.Consent.REFUSED
  customer.consent_at = timezone.now()
  customer.save(update_fields=["consent", "consent_at", "updated_at"])
  logger.info("Customer #%s consent to personal data processing: %s", customer.pk, customer.consent)
  return customer


def customer_state_save(*, customer: Customer, state: dict[str, Any]) -> Customer:
  """Replace the customer's dialogue state (pending input, scenario step, notices)."""
  customer.state = state
  customer.save(update_fields=["state", "updated_at"])
  return customer


@transaction.atomic
def lead_upsert(
  *,
  customer: Customer,
  phone: str | None = None,
  email: str | None = None,
  name: str | None = None,
  source: str | None = None,
  service: CatalogService | None = None,
) -> Lead:
  """The customer's open lead with the given details; a new one (stage "new") if none is open.

  Contact details (phone, e-mail, name) need the customer's consent: ConsentRequired otherwise.
  """
  if (phone or email or name) and customer.consent != Customer.Consent.GIVEN:
    raise ConsentRequired(f"Customer #{customer.pk} has not given consent")
  lead = lead_get_open(customer=customer)
  created = lead is None
  if lead is None:
    lead = Lead(customer=customer, source=(source or customer.channel)[:40], name=_name(customer))
  details = {"phone": phone, "email": email, "name": name, "service": service}
  for field, value in details.items():
    if value:
      setattr(lead, field, value)
  lead.save()
  _customer_contacts_copy(customer, phone=phone, email=email, name=name)
  if created:
    logger.info(
      "New lead #%s for customer #%s (source %s, phone %s, e-mail %s)",
      lead.pk,
      customer.pk,
      lead.source,
      mask_phone(lead.phone) if lead.phone else "-",
      mask_email(lead.email) if lead.email else "-",
    )
  elif phone or email:
    logger.info(
      "Lead #%s contacts updated (phone %s, e-mail %s)",
      lead.pk,
      mask_phone(lead.phone) if lead.phone else "-",
      mask_email(lead.email) if lead.email else "-",
    )
  return lead


def _name(customer: Customer) -> str:
  if customer.consent != Customer.Consent.GIVEN:
    return ""  # the profile name is personal data too
  full = " ".join(part for part in [customer.first_name, customer.last_name] if part)
  return (customer.display_name or full)[:200]


def _customer_contacts_copy(
  customer: Customer, *, phone: str | None, email: str | None, name: str | None
) -> None:
  changes = {"phone": phone, "email": email, "display_name": name}
  changed = [field for field, value in changes.items() if value]
  for field in changed:
    setattr(customer, field, changes[field])
  if changed:
    customer.save(update_fields=[*changed, "updated_at"])


def lead_set_interest(
  *, customer: Customer, service: CatalogService, source: str | None = None
) -> Lead:
  """Record which service the customer is interested in on their open lead."""
  lead = lead_upsert(customer=customer, service=service, source=source)
  logger.info("Lead #%s interested in %s", lead.pk, service.slug)
  return lead


@transaction.atomic
def lead_answer_set(
  *, customer: Customer, key: str, answer: str, source: str | None = None
) -> Lead:
  """Store one needs-discovery answer on the customer's open lead."""
  lead = lead_upsert(customer=customer, source=source)
  lead.answers = {**(lead.answers or {}), key: answer[:MAX_ANSWER_CHARS]}
  lead.save(update_fields=["answers", "updated_at"])
  return lead


def lead_stage_set(*, lead: Lead, stage: str) -> Lead:
  """Move the lead through the pipeline (logged)."""
  if stage not in Lead.Stage.values:
    raise ValueError(f"Unknown lead stage {stage!r}")
  if lead.stage != stage:
    previous = lead.stage
    lead.stage = stage
    lead.stage_changed_at = timezone.now()
    lead.save(update_fields=["stage", "stage_changed_at", "updated_at"])
    logger.info("Lead #%s stage %s -> %s", lead.pk, previous, stage)
  return lead


def feedback_rate(*, customer: Customer, message: Message, rating: int) -> Feedback:
  """The customer's 👍/👎 for one assistant answer; pressing again changes the rating."""
  feedback, created = Feedback.objects.update_or_create(
    customer=customer,
    message=message,
    defaults={"rating": rating, "prompt_version_id": message.prompt_version_id},
  )
  logger.info(
    "Feedback %s on message #%s from customer #%s%s",
    "👍" if rating > 0 else "👎",
    message.pk,
    customer.pk,
    "" if created else " (changed)",
  )
  return feedback


def feedback_comment_set(*, customer: Customer, feedback_id: int, comment: str) -> Feedback | None:
  """Attach the customer's comment to their rating; None if that rating no longer exists."""
  feedback = Feedback.objects.filter(pk=feedback_id, customer=customer).first()
  if feedback is None:
    return None
  feedback.comment = comment
  feedback.save(update_fields=["comment"])
  return feedback


def feedback_leave(*, customer: Customer, comment: str) -> Feedback:
  """Free feedback about the assistant, not tied to an answer."""
  feedback = Feedback.objects.create(
    customer=customer, comment=comment, rating=Feedback.Rating.NONE
  )
  logger.info("Free feedback #%s from customer #%s", feedback.pk, customer.pk)
  return feedback
