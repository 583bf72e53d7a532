import pytest

from memory.tokens import cut_to_tokens, estimate_tokens


@pytest.mark.parametrize(
  ("text", "tokens"),
  [
    ("", 0),
    ("abcd", 1),  # 4 ASCII characters = 1 token
    ("abcde", 2),  # estimates round up
    ("a" * 40, 10),
    ("д" * 5, 2),  # 5 Cyrillic characters = 2 tokens
    ("д" * 25, 10),
    ("abcd" + "д" * 5, 3),
  ],
)
def test_estimate_tokens(text, tokens):
  assert estimate_tokens(text) == tokens


def test_cut_to_tokens_keeps_the_longest_start_or_end_within_the_budget():
  text = "abcdefgh" + "дд"  # 8 ASCII (2 tokens) + 2 Cyrillic (0.8 token)

  assert cut_to_tokens(text, 3, keep="start") == text
  assert cut_to_tokens(text, 2, keep="start") == "abcdefgh"
  assert cut_to_tokens(text, 1, keep="start") == "abcd"
  assert cut_to_tokens(text, 1, keep="end") == "дд"  # 0.8 token; one more "h" would be 1.05
  assert cut_to_tokens(text, 2, keep="end") == "efghдд"
  assert cut_to_tokens(text, 0, keep="end") == ""
