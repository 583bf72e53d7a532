import pytest
from django.urls import reverse

from tests.factories import customer_factory, lead_factory, message_factory


@pytest.mark.django_db
def test_every_changelist_and_index_opens_for_the_superuser(admin_client_en):
  # given
  customer = customer_factory()
  lead_factory(customer=customer)
  message_factory(customer=customer)

  # when / then
  for name in [
    "admin:index",
    "admin:leads_lead_changelist",
    "admin:leads_customer_changelist",
    "admin:leads_catalogservice_changelist",
    "admin:leads_faqentry_changelist",
    "admin:leads_scenario_changelist",
    "admin:leads_feedback_changelist",
    "admin:memory_chat_changelist",
    "admin:memory_message_changelist",
    "admin:bot_processedupdate_changelist",
    "admin:llm_prompt_changelist",
    "admin:analytics",
    "admin:exports",
  ]:
    response = admin_client_en.get(reverse(name))
    assert response.status_code == 200, name
