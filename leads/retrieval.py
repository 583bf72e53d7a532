"""Keyword retrieval with Russian and English morphology for the FAQ and the catalog.

Texts are split into words, stop words dropped and the rest stemmed with Snowball (Russian for
Cyrillic words, English otherwise), so "сколько стоят сайты" meets "Сколько стоит сайт?".
A document's score for a query is the IDF-weighted share of the query's stems it contains,
weighted by the field they occur in, so it is always between 0 and 1 and comparable with
FAQ_FALLBACK_MIN_SCORE whatever the query's length.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яё]")
# A stem that only shares a long prefix with a document's stem counts this much.
PREFIX_CREDIT = 0.7
_MIN_PREFIX = 4

# Words that carry no meaning for matching a question to an answer (greetings, pronouns, glue).
_STOP_RU = """
а без бы был была были было быть в вам вас ваш ваша ваше ваши вы где да для до добрый доброе
день его ее ей если есть еще же за здравствуйте и из или им их к как какая какие какой ко когда
кто ли либо мне меня мной могу может можете можно мой моя мы на над нам нас наш не нее нет ни но
ну о об от очень по под подскажите пожалуйста привет при про с со так также там тебя то тоже ты
у уже хочу хотим хотел хотела хотелось чем что чтобы это этот эта эти я вечер утро спасибо
мой моя мое мои моего моей мою моих моим вашего вашей вашу ваших вашим нашего нашей нашу наших
будет будут буду было бы примерно приблизительно узнать скажите подскажи интересует интересно
нужен нужна нужно нужны надо сделать делать делаете сделаете сделаем вообще просто ли
"""
_STOP_EN = """
a about all also am an and any are as at be been but by can could did do does for from good have
hello hey hi how i if in is it its me my of on or our please so some tell than thank thanks that
the their them then there these they this to us want was we what when where which who will with
would you your morning evening afternoon make making made need needs get approximately roughly
just know mine
"""
STOP_WORDS = frozenset((_STOP_RU + _STOP_EN).split())


_stem_lock = threading.Lock()


@lru_cache(maxsize=2)
def _stemmer(language: str) -> snowballstemmer.stemmer:
  return snowballstemmer.stemmer(language)


@lru_cache(maxsize=50_000)
def stem_word(word: str) -> str:
  """The Snowball stem of one lower-case word, by its script."""
  language = "russian" if _CYRILLIC.search(word) else "english"
  # Snowball objects are not thread-safe; the lru_cache lock does not cover the call itself.
  with _stem_lock:
    return _stemmer(language).stemWord(word)


def stems(text: str) -> list[str]:
  """Stems of the meaningful words of `text`, in order (duplicates kept)."""
  words = _WORD.findall(text.lower().replace("ё", "е"))
  return [stem_word(word) for word in words if word not in STOP_WORDS and len(word) > 1]


@dataclass
class Index:
  """An inverted index of stems → {document key: best field weight}."""

  postings: dict[str, dict[Hashable, float]] = field(default_factory=dict)
  heads: dict[str, set[str]] = field(default_factory=dict)  # first letters -> stems, for prefixes
  order: dict[Hashable, int] = field(default_factory=dict)  # ties go to the earlier document
  size: int = 0

  def add(self, key: Hashable, fields: Iterable[tuple[str, float]]) -> None:
    """Index one document given as (text, weight) pairs."""
    self.order.setdefault(key, self.size)
    self.size += 1
    for text, weight in fields:
      for stem in set(stems(text)):
        docs = self.postings.setdefault(stem, {})
        docs[key] = max(docs.get(key, 0.0), weight)
        self.heads.setdefault(stem[:_MIN_PREFIX], set()).add(stem)

  def idf(self, stem: str) -> float:
    return math.log(1 + self.size / (1 + len(self.postings.get(stem, ()))))

  def search(self, query: str, limit: int) -> list[tuple[Hashable, float]]:
    """The best `limit` documents with a score in (0, 1], best first."""
    terms = set(stems(query))
    if not terms or not self.size:
      return []
    scores: dict[Hashable, float] = {}
    total = 0.0
    for term in terms:
      idf = self.idf(term)
      total += idf
      for key, weight in self._matches(term).items():
        scores[key] = scores.get(key, 0.0) + idf * weight
    ranked = sorted(scores.items(), key=lambda item: (-item[1], self.order[item[0]]))
    return [(key, round(min(score / total, 1.0), 4)) for key, score in ranked[:limit]]

  def _matches(self, term: str) -> dict[Hashable, float]:
    found = dict(self.postings.get(term, {}))
    for stem in self.heads.get(term[:_MIN_PREFIX], ()):
      if stem != term and _related(stem, term):
        for key, weight in self.postings[stem].items():
          found[key] = max(found.get(key, 0.0), weight * PREFIX_CREDIT)
    return found


def _related(left: str, right: str) -> bool:
  """Stems of one word the stemmer cut differently: "разработк" ~ "разработа", "сайт" ~ "сайтов"."""
  common = len(os.path.commonprefix([left, right]))
  return common >= _MIN_PREFIX and common >= min(len(left), len(right)) - 1
