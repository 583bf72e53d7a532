"""A cheap, conservative token estimate for context budgets (no tokenizer download needed).

Exact tokenizers (tiktoken) fetch their vocabularies from the internet on first use and differ per
model family anyway, so budgets use a per-character estimate instead: ~4 characters per token for
ASCII text (English, code, digits) and ~2.5 for other scripts (Cyrillic costs more tokens in the
cl100k/o200k vocabularies). It over-counts rather than under-counts, so a budget is never exceeded
on real tokenizers of that family by more than a few percent.
"""

from typing import Literal

# Weights in twentieths of a token: 20 / 4 = 5 per ASCII character, 20 / 2.5 = 8 for the rest.
_ASCII_WEIGHT = 5
_OTHER_WEIGHT = 8
_UNIT = 20


def estimate_tokens(text: str) -> int:
  """Estimated token count of `text` (0 for an empty string)."""
  ascii_count = len(text.encode("ascii", "ignore"))
  weight = ascii_count * _ASCII_WEIGHT + (len(text) - ascii_count) * _OTHER_WEIGHT
  return -(-weight // _UNIT)


def cut_to_tokens(text: str, max_tokens: int, *, keep: Literal["start", "end"]) -> str:
  """The longest start (or end) of `text` whose estimate is at most `max_tokens`."""
  if max_tokens <= 0:
    return ""
  if estimate_tokens(text) <= max_tokens:
    return text
  budget = max_tokens * _UNIT
  chars = text if keep == "start" else reversed(text)
  count = 0
  for char in chars:
    budget -= _ASCII_WEIGHT if ord(char) < 128 else _OTHER_WEIGHT
    if budget < 0:
      break
    count += 1
  return text[:count] if keep == "start" else text[len(text) - count :]
