import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import reverse

from assistant.admin_roles import CONTENT_EDITORS, MANAGERS, ROLES, roles_setup
from tests.factories import customer_factory, faq_factory, lead_factory, message_factory


def _codenames(group_name: str) -> set[str]:
  perms = Group.objects.get(name=group_name).permissions.select_related("content_type")
  return {f"{p.content_type.app_label}.{p.codename}" for p in perms}


@pytest.mark.django_db
def test_setup_roles_gives_each_group_exactly_its_permissions(capsys):
  # given: a stray permission that must be removed on the next run
  roles_setup()
  Group.objects.get(name=MANAGERS).permissions.add(Permission.objects.get(codename="delete_lead"))

  # when
  call_command("setup_roles")

  # then
  assert _codenames(MANAGERS) == set(ROLES[MANAGERS])
  assert _codenames(CONTENT_EDITORS) == set(ROLES[CONTENT_EDITORS])
  assert "Managers: 14 permissions" in capsys.readouterr().out
  assert Group.objects.count() == 2


@pytest.mark.django_db
def test_managers_see_and_edit_leads_customers_feedback_and_transcripts(manager_client):
  # given
  lead = lead_factory()
  message = message_factory(customer=lead.customer)

  # then
  for name, args in [
    ("admin:leads_lead_change", [lead.pk]),
    ("admin:leads_customer_change", [lead.customer.pk]),
    ("admin:leads_feedback_changelist", []),
    ("admin:memory_chat_transcript", [message.chat_id]),
    ("admin:leads_customer_transcript", [lead.customer.pk]),
    ("admin:memory_message_changelist", []),
    ("admin:leads_faqentry_changelist", []),
  ]:
    assert manager_client.get(reverse(name, args=args)).status_code == 200, name
  page = manager_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
  assert 'name="stage"' in page  # editable
  assert (
    manager_client.post(
      reverse("admin:leads_lead_delete", args=[lead.pk]), {"post": "yes"}
    ).status_code
    == 403
  )
  assert manager_client.get(reverse("admin:llm_prompt_changelist")).status_code == 403
  faq = faq_factory()
  assert (
    manager_client.post(reverse("admin:leads_faqentry_change", args=[faq.pk]), {}).status_code
    == 403
  )
  assert manager_client.get(reverse("admin:leads_faqentry_import")).status_code == 403
  assert manager_client.get("/admin/rosetta/files/project/").status_code in {302, 403}


@pytest.mark.django_db
def test_content_editors_edit_content_but_not_leads(editor_client):
  # given
  lead = lead_factory()
  customer = customer_factory()

  # then
  assert editor_client.get(reverse("admin:leads_faqentry_add")).status_code == 200
  assert editor_client.get(reverse("admin:leads_catalogservice_import")).status_code == 200
  assert editor_client.get(reverse("admin:leads_scenario_add")).status_code == 200
  assert editor_client.get(reverse("admin:llm_prompt_add")).status_code == 200
  assert editor_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).status_code == 403
  assert (
    editor_client.get(reverse("admin:leads_customer_transcript", args=[customer.pk])).status_code
    == 403
  )
  assert (
    editor_client.get(reverse("admin:leads_customer_context", args=[customer.pk])).status_code
    == 403
  )
  chat = message_factory().chat
  assert (
    editor_client.get(reverse("admin:memory_chat_transcript", args=[chat.pk])).status_code == 403
  )
  assert editor_client.get("/admin/rosetta/files/project/").status_code == 200
  index = editor_client.get(reverse("admin:index")).content.decode()
  assert "/admin/rosetta/files/project/" in index


@pytest.mark.django_db
def test_staff_without_a_role_cannot_translate(client):
  from django.contrib.auth.models import User

  user = User.objects.create_user("plain", password="x-Password-1", is_staff=True)
  client.force_login(user)
  assert client.get("/admin/rosetta/files/project/").status_code in {302, 403}
