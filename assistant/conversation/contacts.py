"""Consent to personal data processing, and contacts: shared, typed, corrected, asked for."""

from django.utils.translation import gettext as _

from assistant.conversation.context import TurnContext, button
from assistant.conversation.deeplinks import contact_invite
from assistant.conversation.menu import menu_reply
from assistant.conversation.texts import business_text, consent_text, customer_name
from assistant.types import Reply
from leads.contacts import ParsedContacts, contacts_parse, phone_normalize
from leads.models import Customer
from leads.services import customer_consent_set, lead_upsert
from memory.services import message_text_set

AFTER_CONSENT = "after_consent"  # state key: what to do once the customer agrees
PENDING_CONTACT = "contact"  # pending input kind: we asked for a phone or e-mail


def has_consent(ctx: TurnContext) -> bool:
  return ctx.customer.consent == Customer.Consent.GIVEN


def consent_request(ctx: TurnContext, *, after: str = "") -> Reply:
  """The consent text with agree/decline buttons; `after` is remembered for the "agree" answer."""
  if after:
    ctx.state_set(AFTER_CONSENT, after)
  agree, decline = button(_("✅ I agree"), "consent:yes"), button(_("❌ No, thanks"), "consent:no")
  return Reply(text=consent_text(ctx.customer), buttons=[[agree, decline]])


def consent_answer(ctx: TurnContext, value: str) -> list[Reply] | None:
  """consent:yes|no. None for any other value (a tampered button) and in groups."""
  if value not in {"yes", "no"} or ctx.in_group:
    return None
  given = value == "yes"
  ctx.label = _("I agree to the processing of personal data") if given else _("I decline")
  customer_consent_set(customer=ctx.customer, given=given)
  after = ctx.state.get(AFTER_CONSENT)
  ctx.state_pop(AFTER_CONSENT)
  if not given:
    return [menu_reply(ctx, business_text("consent_refused", language=ctx.language))]
  thanks = business_text("consent_given", language=ctx.language)
  if after == PENDING_CONTACT and not contact_known(ctx):
    return contact_ask(ctx, text=thanks)
  return [menu_reply(ctx, thanks)]


def contact_known(ctx: TurnContext) -> bool:
  # In a group the customer's private record is never consulted, not even to skip an offer.
  return not ctx.in_group and bool(ctx.customer.phone or ctx.customer.email)


def contact_ask(ctx: TurnContext, *, text: str = "") -> list[Reply]:
  """Ask for a phone ("share phone" button) if we may store it; else ask consent first.

  In a group: a link to the private chat instead (consent is asked there); `text` is ignored.
  """
  if ctx.in_group:
    return contact_invite(ctx)
  if ctx.customer.consent == Customer.Consent.REFUSED:
    return [Reply(text=_("I can't save contacts without your consent. Send /start to give it."))]
  if not has_consent(ctx):
    return [consent_request(ctx, after=PENDING_CONTACT)]
  ctx.pending_set(PENDING_CONTACT)
  text = text or business_text("ask_contact", language=ctx.language)
  return [Reply(text=text, request_contact=_("📱 Share my phone"))]


def contact_wanted(ctx: TurnContext) -> bool:
  """Whether asking for a contact makes sense now (none known, consent not refused)."""
  if ctx.in_group:
    return True  # decided in the private chat, from data a group answer must not use
  refused = ctx.customer.consent == Customer.Consent.REFUSED
  return not refused and not contact_known(ctx)


def contact_shared(ctx: TurnContext) -> list[Reply]:
  """A phone contact shared with the channel's button: only the sender's own is saved."""
  turn = ctx.turn
  if not turn.contact_user_id or turn.contact_user_id != turn.sender.external_id:
    text = _(
      "Please share your own contact with the “Share my phone” button: "
      "I can't save other people's numbers."
    )
    return [Reply(text=text)]
  phone = phone_normalize(turn.contact_phone)
  if phone is None:
    ctx.pending_set(PENDING_CONTACT)
    return [Reply(text=_phone_invalid(turn.contact_phone))]
  if not has_consent(ctx):
    text = _("I'll gladly save your contact, but I need your consent first.")
    return [Reply(text=text, remove_keyboard=True), consent_request(ctx, after=PENDING_CONTACT)]
  ctx.label = phone  # the transcript keeps the number only with consent
  return _contacts_save(ctx, phone=phone)


def contact_typed(ctx: TurnContext) -> tuple[list[Reply], bool] | None:
  """Contacts in free text: (replies, whether the text also needs an answer), or None if none.

  Never in groups: contacts typed there are masked before storing (assistant/conversation/groups.py).
  """
  if ctx.in_group:
    return None
  expected = (ctx.pending or {}).get("kind") == PENDING_CONTACT
  parsed = contacts_parse(ctx.text, expect_phone=expected)
  if expected:
    ctx.state_pop("pending")
  if parsed.empty or (not parsed.found and not expected and not has_consent(ctx)):
    return None
  go_on = _looks_like_question(parsed.remainder)
  if not has_consent(ctx):
    # Not stored anywhere without consent: not even in the transcript.
    message_text_set(message=ctx.inbound, text=_redacted(ctx.text, parsed))
    text = _("I'll gladly save your contact, but I need your consent first.")
    return [Reply(text=text), consent_request(ctx, after=PENDING_CONTACT)], go_on
  replies = []
  if parsed.found:
    replies += _contacts_save(ctx, phone=parsed.phone, email=parsed.email, name=parsed.name)
  if parsed.invalid:
    ctx.pending_set(PENDING_CONTACT)
    replies.append(Reply(text=_corrections(parsed)))
  return replies, go_on


def _looks_like_question(remainder: str) -> bool:
  return "?" in remainder or len(remainder.split()) >= 4


def _redacted(text: str, parsed: ParsedContacts) -> str:
  parts, cursor = [], 0
  for start, end in parsed.spans:
    parts += [text[cursor:start], "[…]"]
    cursor = max(cursor, end)
  return "".join([*parts, text[cursor:]])


def _contacts_save(
  ctx: TurnContext, *, phone: str = "", email: str = "", name: str = ""
) -> list[Reply]:
  lead_upsert(
    customer=ctx.customer,
    phone=phone or None,
    email=email or None,
    name=name or None,
    source=ctx.state.get("source"),
  )
  if not (phone or email):
    return [Reply(text=_("Nice to meet you, %(name)s!") % {"name": name})]
  shown = ", ".join(value for value in [phone, email] if value)
  thanks = business_text("contact_saved", language=ctx.language, name=customer_name(ctx.customer))
  saved = _("Saved: %(contact)s.") % {"contact": shown}
  return [Reply(text=f"{thanks}\n{saved}", remove_keyboard=True)]


def _phone_invalid(value: str) -> str:
  return _(
    "The phone number “%(value)s” doesn't look right. Please send it with the country code, "
    "for example +7 912 345-67-89."
  ) % {"value": value}


def _corrections(parsed: ParsedContacts) -> str:
  lines = []
  if parsed.invalid_phone:
    lines.append(_phone_invalid(parsed.invalid_phone))
  if parsed.invalid_email:
    lines.append(
      _("The e-mail “%(value)s” doesn't look right. Please check it, for example name@example.com.")
      % {"value": parsed.invalid_email}
    )
  if parsed.invalid_name:
    lines.append(
      _("I couldn't read the name “%(value)s”. Please write it in letters, e.g. “My name is Anna”.")
      % {"value": parsed.invalid_name}
    )
  return "\n".join(lines)
