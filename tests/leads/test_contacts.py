import pytest

from leads.contacts import (
  contacts_parse,
  email_normalize,
  mask_email,
  mask_phone,
  name_normalize,
  phone_normalize,
)


@pytest.mark.parametrize(
  ("raw", "expected"),
  [
    ("+7 912 345-67-89", "+79123456789"),
    ("8 (912) 345-67-89", "+79123456789"),
    ("79123456789", "+79123456789"),  # Telegram contacts come without '+'
    ("9123456789", "+79123456789"),  # default region RU
    ("+44 20 7946 0958", "+442079460958"),
    ("+7 912 345", None),
    ("+7 000 000-00-00", None),
    ("not a phone", None),
  ],
)
def test_phone_normalize(raw, expected):
  assert phone_normalize(raw) == expected


def test_phone_normalize_uses_the_configured_region(settings):
  # given
  settings.DEFAULT_PHONE_REGION = "GB"

  # then
  assert phone_normalize("020 7946 0958") == "+442079460958"
  assert phone_normalize("020 7946 0958", region="RU") is None


@pytest.mark.parametrize(
  ("raw", "expected"),
  [
    ("john@Example.COM", "john@example.com"),
    ("anna.k+shop@mail.ru.", "anna.k+shop@mail.ru"),
    ("john@example", None),
    ("@example.com", None),
  ],
)
def test_email_normalize(raw, expected):
  assert email_normalize(raw) == expected


@pytest.mark.parametrize(
  ("raw", "expected"),
  [
    ("анна", "Анна"),
    ("анна-мария", "Анна-Мария"),
    ("John  Smith", "John Smith"),
    ("O'Neil", "O'Neil"),
    ("R2D2", None),
    ("", None),
    ("a" * 61, None),
  ],
)
def test_name_normalize(raw, expected):
  assert name_normalize(raw) == expected


def test_contacts_parse_russian_name_and_phone():
  parsed = contacts_parse("меня зовут Анна, +7 912 345-67-89")

  assert (parsed.name, parsed.phone, parsed.email) == ("Анна", "+79123456789", "")
  assert parsed.found and not parsed.invalid and not parsed.empty
  assert parsed.remainder == ""


def test_contacts_parse_english_name_and_email():
  parsed = contacts_parse("my name is John, john@example.com")

  assert (parsed.name, parsed.phone, parsed.email) == ("John", "", "john@example.com")
  assert parsed.remainder == ""


def test_contacts_parse_keeps_the_rest_of_the_sentence():
  parsed = contacts_parse("Меня зовут Анна Петрова и я хочу сайт, мой телефон 89123456789")

  assert parsed.name == "Анна Петрова"
  assert parsed.phone == "+79123456789"
  assert parsed.remainder == "и я хочу сайт, мой телефон"


def test_contacts_parse_lower_case_name_takes_one_word():
  parsed = contacts_parse("меня зовут анна хочу сайт")

  assert parsed.name == "Анна"
  assert parsed.remainder == "хочу сайт"


@pytest.mark.parametrize(
  ("text", "field", "value"),
  [
    ("мой телефон 12345", "invalid_phone", "12345"),
    ("call me at +7 912 345", "invalid_phone", "+7 912 345"),
    ("write to john@example", "invalid_email", "john@example"),
    ("меня зовут 123", "invalid_name", "123"),
  ],
)
def test_contacts_parse_reports_what_is_invalid(text, field, value):
  parsed = contacts_parse(text)

  assert getattr(parsed, field) == value
  assert parsed.invalid and not parsed.found


@pytest.mark.parametrize(
  "text",
  [
    "сколько стоит сайт за 100 000 рублей?",
    "встреча 2024-05-12 в 15:00",
    "Hello, I want a website",
    "я хочу заказать 3 баннера",
  ],
)
def test_contacts_parse_ignores_numbers_that_are_not_phones(text):
  parsed = contacts_parse(text)

  assert parsed.empty
  assert parsed.remainder == text


def test_contacts_parse_short_number_counts_when_a_phone_is_expected():
  assert contacts_parse("12345").empty
  assert contacts_parse("12345", expect_phone=True).invalid_phone == "12345"


def test_contacts_parse_skips_an_invalid_phone_for_a_valid_one():
  parsed = contacts_parse("тел +7 912 345 или +7 912 345-67-89")

  assert parsed.phone == "+79123456789"
  assert parsed.invalid_phone == ""


def test_contacts_parse_digits_inside_an_email_are_not_a_phone():
  parsed = contacts_parse("79123456789@example.com")

  assert parsed.email == "79123456789@example.com"
  assert parsed.phone == ""


def test_mask_phone_and_email():
  assert mask_phone("+79123456789") == "+7912*****89"
  assert mask_phone("+123") == "****"
  assert mask_email("john@example.com") == "j***@example.com"
  assert mask_email("garbage") == "***"
