"""Synthetic but realistic consulting messages for the memory benchmarks (Russian and English).

Phrases from a small business's chats with word forms varied the way people write ("доставка",
"доставку", "доставкой"...), plus filler words drawn from a 5,000-word Zipf vocabulary, so some
terms are frequent and most are rare, as in real text.
"""

from __future__ import annotations

import itertools
import random

TOPICS_RU = [
  ("доставка", "доставку", "доставкой", "доставки"),
  ("сайт", "сайта", "сайтом", "сайты"),
  ("логотип", "логотипа", "логотипом", "логотипы"),
  ("ремонт", "ремонта", "ремонтом", "ремонту"),
  ("консультация", "консультацию", "консультацией", "консультации"),
  ("гарантия", "гарантию", "гарантией", "гарантии"),
  ("оплата", "оплату", "оплатой", "оплаты"),
  ("скидка", "скидку", "скидкой", "скидки"),
  ("договор", "договора", "договором", "договоры"),
  ("установка", "установку", "установкой", "установки"),
  ("кондиционер", "кондиционера", "кондиционером", "кондиционеры"),
  ("реклама", "рекламу", "рекламой", "рекламы"),
]
TOPICS_EN = [
  ("delivery", "deliveries", "deliver", "delivered"),
  ("website", "websites", "site", "sites"),
  ("logo", "logos", "branding", "brand"),
  ("repair", "repairs", "repaired", "repairing"),
  ("warranty", "warranties", "guarantee", "guaranteed"),
  ("payment", "payments", "pay", "paid"),
  ("discount", "discounts", "discounted", "sale"),
  ("contract", "contracts", "agreement", "agreements"),
]
CITIES = ["Москву", "Казань", "Самару", "Тверь", "Сочи", "Berlin", "Paris", "Riga", "Dubai"]
USER_RU = [
  "Здравствуйте! Сколько стоит {t}?",
  "Подскажите, пожалуйста, как быстро вы делаете {t}?",
  "А что с {t} в {c}?",
  "Мне нужна {t} до пятницы, это возможно?",
  "Хочу уточнить про {t} и сроки",
  "Спасибо, а {t} входит в цену?",
  "Можно ли оформить {t} на компанию?",
]
ASSISTANT_RU = [
  "Конечно! {T} обычно занимает от двух до пяти рабочих дней.",
  "Стоимость зависит от объёма: {t} начинается от 5000 рублей.",
  "Да, мы работаем с {t} по всей России, включая {c}.",
  "Уточню у менеджера детали про {t} и вернусь с ответом.",
  "По {t} действует гарантия 12 месяцев и бесплатная консультация.",
]
USER_EN = [
  "Hi! How much does {t} cost?",
  "Could you tell me about {t} to {c}?",
  "I need {t} by Friday, is that possible?",
  "Is {t} included in the price?",
]
ASSISTANT_EN = [
  "Sure! {T} usually takes two to five working days.",
  "The price depends on the scope: {t} starts at 100 euros.",
  "We handle {t} across Europe, including {c}.",
]
_SYLLABLES = ["ка", "ро", "ми", "та", "ле", "ну", "за", "по", "ри", "со", "ве", "ды", "го", "шу"]


def _vocabulary(size: int = 5000) -> list[str]:
  words = ("".join(parts) for n in (2, 3, 4) for parts in itertools.product(_SYLLABLES, repeat=n))
  return list(itertools.islice(words, size))


VOCABULARY = _vocabulary()
# Zipf weights: the n-th most common filler word is 1/n as frequent as the first.
_CUMULATIVE = list(itertools.accumulate(1 / rank for rank in range(1, len(VOCABULARY) + 1)))


def message_text(rng: random.Random, *, role: str) -> str:
  """One message: a phrase about a topic in some word form, plus 0-3 filler words."""
  english = rng.random() < 0.25
  topics = TOPICS_EN if english else TOPICS_RU
  templates = (USER_EN if role == "user" else ASSISTANT_EN) if english else None
  if templates is None:
    templates = USER_RU if role == "user" else ASSISTANT_RU
  word = rng.choice(rng.choice(topics))
  text = rng.choice(templates).format(t=word, T=word.capitalize(), c=rng.choice(CITIES))
  filler = rng.choices(VOCABULARY, cum_weights=_CUMULATIVE, k=rng.randint(0, 3))
  return " ".join([text, *filler]) if filler else text


RETRIEVAL_QUERIES = [
  "Напомните, сколько стоила доставка в Казань?",
  "Что вы говорили про гарантию на ремонт кондиционера?",
  "какая скидка на логотип",
  "What did you say about delivery to Berlin?",
  "договор оплата рекламы",
  "Хочу снова заказать сайт, какие были сроки?",
  "warranty for the repair",
  "консультация по установке",
]
