"""Fixtures for the content tests: small content files written to a temporary directory."""

from pathlib import Path

import pytest

SMALL_CONTENT = """
version: 1
prompts:
  system:
    ru: Ты консультант студии «Пиксель».
    en: You are the consultant of the Pixel studio.
  greeting:
    ru: Здравствуйте, {name}!
    en: Hello, {name}!
faq:
  - key: price
    ru:
      question: Сколько стоит сайт?
      answer: Лендинг — от 45 000 ₽.
      keywords: [цена, стоимость]
    en:
      question: How much does a website cost?
      answer: A landing page starts at 45,000 RUB.
      keywords: [price, cost]
  - key: timeline
    ru:
      question: Какие сроки разработки?
      answer: Лендинг — 2–3 недели.
    en:
      question: How long does development take?
      answer: A landing page takes 2–3 weeks.
catalog:
  - slug: landing
    price: 45000
    ru:
      name: Лендинг
      description: Одностраничный сайт.
    en:
      name: Landing page
      description: A one-page site.
  - slug: support
    price: 15000.5
    currency: RUB
    order: 5
    ru:
      name: Поддержка
scenarios:
  - key: budget
    ru:
      title: Бюджет
      steps:
        - key: budget
          question: Какой бюджет?
          options: [До 50 000 ₽, Больше]
        - key: about
          question: Расскажите о задаче
    en:
      title: Budget
      steps:
        - key: budget
          question: What budget?
          options: [Under 50k, More]
        - key: about
          question: Tell me about the task
"""


@pytest.fixture
def write_content(tmp_path, settings):
  """write_content(text) -> Path: writes a content file and makes it CONTENT_FILE."""

  def write(text: str = SMALL_CONTENT, name: str = "content.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    settings.CONTENT_FILE = str(path)
    return path

  return write
