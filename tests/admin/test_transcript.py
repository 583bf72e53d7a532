import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Feedback
from memory.admin_transcript import PAGE_SIZE, highlight, transcript_page
from memory.models import Message
from tests.factories import chat_factory, customer_factory


def _conversation(count: int, *, same_time: bool = False) -> tuple:
  """`count` messages alternating customer/assistant; ids ascend with time."""
  chat, customer = chat_factory(title="Long chat"), customer_factory(first_name="Olga")
  start = timezone.now() - dt.timedelta(days=1)
  rows = [
    Message(
      chat=chat,
      customer=customer,
      role=Message.Role.USER if n % 2 == 0 else Message.Role.ASSISTANT,
      text=f"message {n}",
    )
    for n in range(count)
  ]
  created = Message.objects.bulk_create(rows)
  for n, message in enumerate(created):
    # ties on created_at must be broken by id
    message.created_at = start if same_time else start + dt.timedelta(seconds=n)
  Message.objects.bulk_update(created, ["created_at"])
  return chat, customer, [m.pk for m in Message.objects.filter(chat=chat).order_by("id")]


def _texts(page) -> list[str]:
  return [m.text for m in page.messages]


@pytest.mark.django_db
@pytest.mark.parametrize("same_time", [False, True])
def test_keyset_pages_walk_the_whole_chat_both_ways(same_time):
  # given
  chat, _customer, ids = _conversation(120, same_time=same_time)
  messages = Message.objects.filter(chat=chat)

  # when
  newest = transcript_page(messages=messages)
  middle = transcript_page(messages=messages, before=newest.older)
  oldest = transcript_page(messages=messages, before=middle.older)
  back = transcript_page(messages=messages, after=oldest.newer)

  # then
  assert _texts(newest) == [f"message {n}" for n in range(70, 120)]
  assert (newest.newer, newest.older) == (None, ids[70])
  assert _texts(middle) == [f"message {n}" for n in range(20, 70)]
  assert (middle.older, middle.newer) == (ids[20], ids[69])
  assert _texts(oldest) == [f"message {n}" for n in range(0, 20)]
  assert (oldest.older, oldest.newer) == (None, ids[19])
  assert _texts(back) == [f"message {n}" for n in range(20, 70)]
  assert (back.older, back.newer) == (ids[20], ids[69])


@pytest.mark.django_db
def test_page_around_a_message_shows_it_with_a_few_after():
  chat, _customer, ids = _conversation(120)
  page = transcript_page(messages=Message.objects.filter(chat=chat), at=ids[30])
  assert _texts(page) == [f"message {n}" for n in range(0, 36)]
  assert (page.target, page.older, page.newer) == (ids[30], None, ids[35])
  near_end = transcript_page(messages=Message.objects.filter(chat=chat), at=ids[117])
  assert _texts(near_end)[-3:] == ["message 117", "message 118", "message 119"]
  assert near_end.newer is None and near_end.older == ids[68]


@pytest.mark.django_db
def test_an_unknown_anchor_falls_back_to_the_newest_page():
  chat, _customer, _ids = _conversation(3)
  page = transcript_page(messages=Message.objects.filter(chat=chat), before=999999)
  assert _texts(page) == ["message 0", "message 1", "message 2"]


@pytest.mark.django_db
def test_transcript_view_shows_bubbles_usage_and_feedback_marks(admin_client_en):
  # given
  chat, customer, _ids = _conversation(2)
  answer = Message.objects.create(
    chat=chat,
    customer=customer,
    role=Message.Role.ASSISTANT,
    text="We deliver on Mondays",
    model_name="fake/default",
    prompt_tokens=100,
    completion_tokens=20,
    latency_ms=1234,
  )
  Message.objects.create(
    chat=chat, customer=customer, role=Message.Role.OPERATOR, text="Manager here"
  )
  Message.objects.create(
    chat=chat, customer=customer, role=Message.Role.ASSISTANT, text="Sorry", is_fallback=True
  )
  Feedback.objects.create(customer=customer, message=answer, rating=1)
  Feedback.objects.create(customer=customer_factory(), message=answer, rating=-1, comment="late")

  # when
  page = admin_client_en.get(reverse("admin:memory_chat_transcript", args=[chat.pk]))

  # then
  html = page.content.decode()
  assert html.count('class="bubble bubble-user') == 1
  assert html.count('class="bubble bubble-assistant') == 3
  assert 'class="bubble bubble-operator' in html
  assert "bubble-fallback" in html and "fallback answer" in html
  assert "fake/default" in html and "100+20 tokens" in html and "1234 ms" in html
  assert "👍 1" in html and "👎 1" in html and "“late”" in html
  assert "Transcript: Long chat" in html


@pytest.mark.django_db
def test_transcript_search_finds_and_marks_matches_and_keeps_the_query_when_paging(admin_client_en):
  # given
  chat, _customer, _ids = _conversation(120)
  url = reverse("admin:memory_chat_transcript", args=[chat.pk])

  # when: "message 1" matches 1, 10-19 and 100-119 (31 messages)
  page = admin_client_en.get(url, {"q": "Message 1"})

  # then
  html = page.content.decode()
  assert len(page.context["page"].messages) == 31
  assert "<mark>message 1</mark>05" in html
  assert page.context["page"].older is None
  nothing = admin_client_en.get(url, {"q": "absent words"})
  assert "No messages match the search." in nothing.content.decode()


@pytest.mark.django_db
def test_transcript_navigation_links_carry_the_cursor(admin_client_en):
  chat, _customer, ids = _conversation(PAGE_SIZE + 5)
  url = reverse("admin:memory_chat_transcript", args=[chat.pk])
  html = admin_client_en.get(url).content.decode()
  assert f"?before={ids[5]}" in html
  older = admin_client_en.get(url, {"before": ids[5]}).content.decode()
  assert f"?after={ids[4]}" in older and "message 0" in older


@pytest.mark.django_db
def test_empty_transcript_says_so(admin_client_en):
  chat = chat_factory()
  html = admin_client_en.get(
    reverse("admin:memory_chat_transcript", args=[chat.pk])
  ).content.decode()
  assert "No messages yet." in html


def test_highlight_escapes_html_and_marks_case_insensitively():
  assert highlight("<b>Price</b> price", "PRICE") == (
    "&lt;b&gt;<mark>Price</mark>&lt;/b&gt; <mark>price</mark>"
  )
  assert highlight("<i>", "") == "&lt;i&gt;"
