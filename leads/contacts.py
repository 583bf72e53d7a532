"""Recognise and normalise contact details (phone, e-mail, name) in what customers type.

Pure functions, no database: the conversation engine decides what to do with the result.
Phones become E.164 (`+79123456789`) through `phonenumbers`; numbers typed without a country
code are read in `DEFAULT_PHONE_REGION`.
"""

import re
from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_NAME_LENGTH = 60

# Digits with the usual separators: "+7 (912) 345-67-89", "8 912 3456789", "+44 20 7946 0958".
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])\+?\d[\d \u00a0().\-]{3,}\d(?!\w)")
# Words that make a short digit group a phone attempt ("мой телефон 12345" deserves a correction).
_PHONE_WORDS = re.compile(
  r"(телефон|\bтел\b|номер|мобильн|whatsapp|ватсап|\bphone|\btel\b|mobile|\bcell\b|my number)",
  re.IGNORECASE,
)
_EMAIL_CANDIDATE = re.compile(r"[\w.+\-]+@[\w\-]*(?:\.[\w\-]*)*", re.UNICODE)
_NAME_INTRO = re.compile(
  r"(меня зовут|мо[её] имя|зовите меня|имя\s*:|my name is|my name's|i am called|name\s*:)\s*",
  re.IGNORECASE,
)
_NAME_WORD = re.compile(r"[^\W\d_][^\W\d_'’\-]*(?:[-'’][^\W\d_]+)*")
# Lower-case words after a name are the rest of the sentence, not a surname.
_NOT_NAME = {"и", "а", "я", "мой", "моя", "мне", "and", "i", "my", "im"}
# Lead-in words around contact details: a message of only these and contacts is "just contacts".
_FILLER_WORDS = {
  "телефон",
  "тел",
  "номер",
  "почта",
  "email",
  "e",
  "mail",
  "имейл",
  "емейл",
  "мой",
  "моя",
  "мои",
  "это",
  "вот",
  "и",
  "или",
  "пишите",
  "звоните",
  "phone",
  "tel",
  "mobile",
  "number",
  "is",
  "my",
  "and",
  "or",
  "here",
  "me",
  "at",
  "call",
  "write",
  "contact",
  "contacts",
  "контакты",
  "контакт",
}


@dataclass(frozen=True)
class ParsedContacts:
  """Contact details found in a text: valid ones normalised, invalid ones as typed."""

  phone: str = ""
  email: str = ""
  name: str = ""
  invalid_phone: str = ""
  invalid_email: str = ""
  invalid_name: str = ""
  remainder: str = ""  # the text without the contact details and their lead-in words
  spans: tuple[tuple[int, int], ...] = field(default=(), repr=False)

  @property
  def found(self) -> bool:
    return bool(self.phone or self.email or self.name)

  @property
  def invalid(self) -> bool:
    return bool(self.invalid_phone or self.invalid_email or self.invalid_name)

  @property
  def empty(self) -> bool:
    return not self.found and not self.invalid


def phone_normalize(raw: str, *, region: str | None = None) -> str | None:
  """E.164 for a valid phone number, else None. Bare digits from Telegram get a leading '+'."""
  value = raw.strip()
  if re.fullmatch(r"\d{11,15}", value) and not value.startswith(("8", "0")):
    value = "+" + value  # Telegram contacts carry the number without '+'
  try:
    number = phonenumbers.parse(value, region or settings.DEFAULT_PHONE_REGION)
  except phonenumbers.NumberParseException:
    return None
  if not phonenumbers.is_valid_number(number):
    return None
  return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_normalize(raw: str) -> str | None:
  """The address with a lower-cased domain, or None if it is not a valid e-mail."""
  value = raw.strip().rstrip(".")
  try:
    validate_email(value)
  except ValidationError:
    return None
  local, domain = value.rsplit("@", 1)
  return f"{local}@{domain.lower()}"


def name_normalize(raw: str) -> str | None:
  """A tidy person name (letters, spaces, hyphens, apostrophes) or None."""
  value = " ".join(raw.split())
  if not value or len(value) > MAX_NAME_LENGTH:
    return None
  if not all(_NAME_WORD.fullmatch(word) for word in value.split(" ")):
    return None
  return value.title() if value == value.lower() else value


def contacts_parse(
  text: str, *, region: str | None = None, expect_phone: bool = False
) -> ParsedContacts:
  """Find a phone, an e-mail and a name in `text`.

  `expect_phone` (we just asked for a number) makes any group of 5+ digits a phone attempt.
  """
  spans: list[tuple[int, int]] = []
  email, invalid_email = _find_email(text, spans)
  phone, invalid_phone = _find_phone(text, spans, region=region, expect_phone=expect_phone)
  name, invalid_name = _find_name(text, spans)
  return ParsedContacts(
    phone=phone,
    email=email,
    name=name,
    invalid_phone=invalid_phone,
    invalid_email=invalid_email,
    invalid_name=invalid_name,
    remainder=_remainder(text, spans),
    spans=tuple(sorted(spans)),
  )


def _find_email(text: str, spans: list[tuple[int, int]]) -> tuple[str, str]:
  for match in _EMAIL_CANDIDATE.finditer(text):
    raw = match.group(0).rstrip(".")
    spans.append((match.start(), match.start() + len(raw)))
    normalized = email_normalize(raw)
    if normalized:
      return normalized, ""
    return "", raw
  return "", ""


def _find_phone(
  text: str, spans: list[tuple[int, int]], *, region: str | None, expect_phone: bool
) -> tuple[str, str]:
  hinted = expect_phone or bool(_PHONE_WORDS.search(text))
  invalid = ""
  for match in _PHONE_CANDIDATE.finditer(text):
    if _inside(match.start(), spans):
      continue  # digits of an e-mail address
    raw = match.group(0).strip(" \u00a0-.(")
    digits = sum(ch.isdigit() for ch in raw)
    if not (raw.startswith("+") or digits >= 10 or (hinted and digits >= 5)):
      continue  # a price, a date or a count, not a phone attempt
    spans.append((match.start(), match.end()))
    normalized = phone_normalize(raw, region=region)
    if normalized:
      return normalized, ""
    invalid = invalid or raw
  return "", invalid


def _find_name(text: str, spans: list[tuple[int, int]]) -> tuple[str, str]:
  match = _NAME_INTRO.search(text)
  if not match:
    return "", ""
  rest = text[match.end() :]
  words: list[str] = []
  end = match.end()
  for word_match in re.finditer(r"\S+", rest):
    word = word_match.group(0).strip(",.;!?")
    stop = word_match.group(0) != word  # punctuation ends the name
    if not _NAME_WORD.fullmatch(word) or word.lower() in _NOT_NAME:
      break
    if words and word[0].islower():
      break  # "Анна хочу сайт": the sentence goes on, the name has ended
    words.append(word)
    end = match.end() + word_match.start() + len(word)
    if stop or len(words) == 3:
      break
  spans.append((match.start(), end))
  if not words:
    typed = rest.split()[0].strip(",.;!?") if rest.split() else ""
    return "", typed
  name = name_normalize(" ".join(words))
  return (name, "") if name else ("", " ".join(words))


PHONE_MASK = "[phone]"
EMAIL_MASK = "[e-mail]"


def contacts_mask(text: str) -> tuple[str, bool]:
  """`text` with every e-mail address and phone number replaced by a marker; True if any was.

  For places where contacts must not be kept (group chats): unlike `contacts_parse` it hides
  every address and every phone-like number, valid or not.
  """
  spans: list[tuple[int, int, str]] = []
  for match in _EMAIL_CANDIDATE.finditer(text):
    raw = match.group(0).rstrip(".")
    local, _at, domain = raw.partition("@")
    if local and "." in domain:
      spans.append((match.start(), match.start() + len(raw), EMAIL_MASK))
  taken = [(start, end) for start, end, _mask in spans]
  hinted = bool(_PHONE_WORDS.search(text))
  for match in _PHONE_CANDIDATE.finditer(text):
    raw = match.group(0).strip(" \u00a0-.(")
    digits = sum(ch.isdigit() for ch in raw)
    if _inside(match.start(), taken):
      continue
    if raw.startswith("+") or digits >= 10 or (hinted and digits >= 7):
      spans.append((match.start(), match.end(), PHONE_MASK))
  if not spans:
    return text, False
  parts, cursor = [], 0
  for start, end, mask in sorted(spans):
    parts += [text[cursor:start], mask]
    cursor = end
  return "".join([*parts, text[cursor:]]), True


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
  return any(start <= position < end for start, end in spans)


def _remainder(text: str, spans: list[tuple[int, int]]) -> str:
  kept, cursor = [], 0
  for start, end in sorted(spans):
    kept.append(text[cursor:start])
    cursor = max(cursor, end)
  kept.append(text[cursor:])
  rest = " ".join("".join(kept).split())
  if all(word in _FILLER_WORDS for word in re.findall(r"\w+", rest.lower())):
    return ""
  return rest


def mask_phone(phone: str) -> str:
  """+79123456789 -> +7912*****89 (for INFO logs)."""
  if len(phone) <= 6:
    return "*" * len(phone)
  return phone[:5] + "*" * (len(phone) - 7) + phone[-2:]


def mask_email(email: str) -> str:
  """john@example.com -> j***@example.com (for INFO logs)."""
  local, _at, domain = email.partition("@")
  return f"{local[:1]}***@{domain}" if domain else "***"
