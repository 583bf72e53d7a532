import logging

import pytest
from django.urls import reverse

from memory.models import Message
from tests.factories import chat_factory, customer_factory, llm_model_factory, message_factory


@pytest.mark.django_db
def test_chat_list_filters_and_edits_group_settings_inline(admin_client_en):
  # given
  group = chat_factory(type="group", title="Bakers", bot_enabled=True)
  chat_factory(type="private")
  url = reverse("admin:memory_chat_changelist")

  # when
  filtered = admin_client_en.get(url, {"type__exact": "group"})

  # then
  assert [c.pk for c in filtered.context["cl"].result_list] == [group.pk]
  assert reverse("admin:memory_chat_transcript", args=[group.pk]) in filtered.content.decode()


@pytest.mark.django_db
def test_chat_page_lists_distinct_participants_and_saves_settings(admin_client_en, caplog):
  # given
  chat = chat_factory(type="group", title="Bakers")
  anna, boris = customer_factory(first_name="Anna"), customer_factory(first_name="Boris")
  message_factory(chat=chat, customer=anna)
  message_factory(chat=chat, customer=anna)
  message_factory(chat=chat, customer=boris)
  message_factory(
    chat=chat, customer=customer_factory(first_name="Replied"), role=Message.Role.ASSISTANT
  )
  url = reverse("admin:memory_chat_change", args=[chat.pk])
  caplog.set_level(logging.INFO, logger="memory.admin")

  # when
  page = admin_client_en.get(url).content.decode()
  response = admin_client_en.post(
    url, {"bot_enabled": "", "allowed": "on", "store_mode": "addressed"}
  )

  # then
  assert page.count(">Anna<") == 1 and page.count(">Boris<") == 1
  assert page.index(">Anna</a> (2)") < page.index(">Boris</a> (1)")  # most active first
  assert "Replied" not in page
  assert response.status_code == 302
  chat.refresh_from_db()
  assert (chat.bot_enabled, chat.allowed, chat.store_mode) == (False, True, "addressed")
  assert caplog.messages == [
    f"Chat #{chat.pk} settings changed by staff: {{'bot_enabled': False, 'store_mode': 'addressed'}}"
  ]


@pytest.mark.django_db
def test_chat_page_without_messages_says_nobody_wrote(admin_client_en):
  chat = chat_factory()
  page = admin_client_en.get(reverse("admin:memory_chat_change", args=[chat.pk])).content.decode()
  assert "Nobody has written here yet." in page


@pytest.mark.django_db
def test_chats_cannot_be_added_by_hand(admin_client_en):
  assert admin_client_en.get(reverse("admin:memory_chat_add")).status_code == 403


@pytest.mark.django_db
def test_message_list_searches_and_filters_role_date_and_model(admin_client_en):
  # given
  llm_model_factory(provider_model_name="fake/fast")
  question = message_factory(text="How much is delivery?")
  answer = message_factory(
    chat=question.chat,
    role=Message.Role.ASSISTANT,
    text="Free",
    model_name="fake/fast",
    prompt_tokens=10,
    completion_tokens=2,
  )
  url = reverse("admin:memory_message_changelist")

  def ids(params):
    return [m.pk for m in admin_client_en.get(url, params).context["cl"].result_list]

  # then
  assert ids({"q": "delivery"}) == [question.pk]
  assert ids({"role__exact": "assistant"}) == [answer.pk]
  assert ids({"model": "fake/fast"}) == [answer.pk]
  assert ids({"created_at__gte": "2000-01-01 00:00:00+00:00"}) == [answer.pk, question.pk]
  page = admin_client_en.get(url).content.decode()
  assert "10+2" in page
  assert f"?at={answer.pk}#m{answer.pk}" in page


@pytest.mark.django_db
def test_messages_are_read_only(admin_client_en):
  message = message_factory(text="original")
  url = reverse("admin:memory_message_change", args=[message.pk])
  page = admin_client_en.get(url)
  admin_client_en.post(url, {"text": "changed"})
  message.refresh_from_db()
  assert page.status_code == 200
  assert "Open in the transcript" in page.content.decode()
  assert message.text == "original"
  assert admin_client_en.get(reverse("admin:memory_message_add")).status_code == 403


@pytest.mark.django_db
def test_processed_updates_are_listed_read_only(admin_client_en):
  from bot.models import ProcessedUpdate

  update = ProcessedUpdate.objects.create(update_id=777)
  listing = admin_client_en.get(reverse("admin:bot_processedupdate_changelist"), {"q": "777"})
  assert [u.pk for u in listing.context["cl"].result_list] == [update.pk]
  assert admin_client_en.get(reverse("admin:bot_processedupdate_add")).status_code == 403
  page = admin_client_en.get(reverse("admin:bot_processedupdate_change", args=[update.pk]))
  assert page.status_code == 200 and b'name="update_id"' not in page.content
