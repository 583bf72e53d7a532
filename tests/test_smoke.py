import pytest
from django.db import connection

from leads.models import Customer


@pytest.mark.django_db
def test_customer_round_trip_on_configured_database():
  # given
  Customer.objects.create(external_id="42", first_name="Anna")

  # when
  customer = Customer.objects.get(external_id="42")

  # then
  assert str(customer) == "Anna"
  assert connection.vendor in {"sqlite", "postgresql"}
