"""Search terms of a text, the way PostgreSQL's `russian` text-search configuration makes them.

PostgreSQL indexes messages with `to_tsvector('russian', text)`: words in Cyrillic (any non-ASCII
letters) go through the Snowball Russian stemmer, ASCII words through the Snowball English one,
stop words are dropped, numbers are kept as they are. SQLite has no stemmer of its own, so its FTS5
index stores the terms this module computes with the same Snowball stemmers and stop lists: the
two databases find the same messages for the same words ("доставка" = "доставку" = "доставкой",
"delivery" = "deliveries").
"""

import re
from functools import lru_cache

import snowballstemmer

from memory.search_stopwords import ENGLISH, RUSSIAN

# PostgreSQL's default parser, approximated: e-mails, URLs, host names and decimals stay whole;
# "-19" is a signed number; hyphenated words ("интернет-магазин", "e-mail") are kept whole and by
# parts; everything else is a run of letters and digits.
_PART = r"[^\W_]*[^\W\d_][^\W_]*"  # a run of letters/digits with at least one letter
_HOST = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}"
_TOKEN = re.compile(
  rf"(?P<email>[a-z0-9][a-z0-9._+-]*@{_HOST})"
  rf"|(?:https?|ftp)://(?P<url_host>{_HOST})(?P<url_path>/[^\s]*)?"
  rf"|(?P<host>{_HOST})"
  r"|(?P<number>-?\d+(?:\.\d+)+|-\d+)"
  rf"|(?P<word>[^\W_]+(?:-{_PART})*)"
)
_russian = snowballstemmer.stemmer("russian")
_english = snowballstemmer.stemmer("english")
MAX_TERM_LENGTH = 100  # longer "words" (hashes, base64) are not worth indexing


@lru_cache(maxsize=200_000)
def term_of(word: str) -> str:
  """The index term of one lower-case word: '' for a stop word."""
  if not word.isalpha():
    return word  # numbers and letter-digit mixes are kept verbatim, like PostgreSQL's `simple`
  if word.isascii():
    return "" if word in ENGLISH else _english.stemWord(word)
  return "" if word in RUSSIAN else _russian.stemWord(word)


def search_terms(text: str) -> list[str]:
  """Index terms of `text` in order of appearance (with repeats)."""
  terms: list[str] = []
  for match in _TOKEN.finditer(text.lower()):
    kind, token = match.lastgroup, match.group(match.lastgroup or 0)
    if kind == "url_path":
      host, path = match.group("url_host"), match.group("url_path")
      terms.extend([host + path, host, path])
    elif kind == "word":
      terms.extend(_word_terms(token))
    elif len(token) <= MAX_TERM_LENGTH:
      terms.append(token)  # e-mail, URL host, host name, number: verbatim
  return terms


def _word_terms(token: str) -> list[str]:
  if len(token) > MAX_TERM_LENGTH:
    return []
  if "-" not in token:
    term = term_of(token)
    return [term] if term else []
  # PostgreSQL indexes a hyphenated word whole and by parts.
  parts = [term for term in map(term_of, token.split("-")) if term]
  return [_hyphenated_term(token), *parts]


def _hyphenated_term(token: str) -> str:
  parts = token.split("-")
  if not all(part.isalpha() for part in parts):
    return token  # "covid-19": PostgreSQL's numhword, kept verbatim
  if token.isascii():
    return _english.stemWord(token)
  return _russian.stemWord(token)


def query_terms(text: str, *, limit: int) -> list[str]:
  """Up to `limit` distinct terms of a query, the longest (most specific) first."""
  return sorted(set(search_terms(text)), key=lambda term: (-len(term), term))[:limit]


def fts_term(term: str) -> str:
  """`term` as one FTS5 token: characters other than letters/digits become `_<hex>_`."""
  if term.isalnum():
    return term
  return "".join(char if char.isalnum() else f"_{ord(char):x}_" for char in term)


def scoped_term(term: str, *, chat_id: int, customer_id: int) -> str:
  """An FTS5 token of one search scope: `s<chat>_<customer>_<term>`.

  Each (chat, customer) gets its own posting lists, so a search reads only that scope's entries
  however big the table is. Both ids are digit runs ended by '_', so the first two underscores
  always delimit them: two scopes never share a token.
  """
  return f"s{chat_id}_{customer_id}_{fts_term(term)}"


def sqlite_index_text(chat_id: int | None, customer_id: int | None, text: str | None) -> str:
  """What the SQLite FTS5 table stores for a message: its distinct terms, scoped."""
  terms = dict.fromkeys(search_terms(text or ""))
  scope = {"chat_id": chat_id or 0, "customer_id": customer_id or 0}
  return " ".join(scoped_term(term, **scope) for term in terms)
