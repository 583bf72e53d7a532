"""contacts_mask: every phone and e-mail hidden (what groups store and the LLM sees)."""

import pytest

from leads.contacts import contacts_mask


@pytest.mark.parametrize(
  ("text", "masked"),
  [
    ("call +7 912 345-67-89 or anna@example.com.", "call [phone] or [e-mail]."),
    ("8 912 3456789 and 8 (495) 123-45-67", "[phone] and [phone]"),
    ("my phone 1234567", "my phone [phone]"),
    ("+1 555 0100 (a wrong number, still hidden)", "[phone] (a wrong number, still hidden)"),
    ("write to a.b+c@mail.example.org today", "write to [e-mail] today"),
    ("digits in an address: 123456789012@example.com", "digits in an address: [e-mail]"),
  ],
)
def test_phones_and_emails_are_masked(text, masked):
  assert contacts_mask(text) == (masked, True)


@pytest.mark.parametrize(
  "text",
  [
    "a website for 45 000 rub in 3 weeks",
    "born 12.05.1990, order #123456",
    "meet at @bob or anna@localhost",
    "",
  ],
)
def test_prices_dates_and_handles_stay(text):
  assert contacts_mask(text) == (text, False)
