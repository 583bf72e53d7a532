import pytest
from django.db import connection
from django.urls import reverse

from assistant.admin_paging import FastCountPaginator, table_row_estimate
from leads.models import Lead
from tests.factories import customer_factory


def _leads(count: int) -> None:
  customer = customer_factory()
  Lead.objects.bulk_create([Lead(customer=customer, name=f"L{n}") for n in range(count)])


@pytest.mark.django_db
def test_small_lists_are_counted_exactly():
  _leads(7)
  paginator = FastCountPaginator(Lead.objects.order_by("id"), 5)
  assert (paginator.count, paginator.num_pages) == (7, 2)
  assert (paginator.is_estimate, paginator.is_capped) == (False, False)


@pytest.mark.django_db
def test_big_lists_stop_counting_at_the_cap(monkeypatch):
  # given
  _leads(12)
  monkeypatch.setattr(FastCountPaginator, "count_cap", 10)

  # when
  paginator = FastCountPaginator(Lead.objects.filter(name__startswith="L").order_by("id"), 5)

  # then
  assert (paginator.count, paginator.num_pages, paginator.is_capped) == (10, 2, True)
  assert [lead.name for lead in paginator.page(2)] == ["L5", "L6", "L7", "L8", "L9"]


@pytest.mark.django_db
def test_the_lead_list_says_more_than_when_capped(admin_client_en, monkeypatch):
  from leads.admin import LeadAdmin

  _leads(12)
  monkeypatch.setattr(FastCountPaginator, "count_cap", 10)
  monkeypatch.setattr(LeadAdmin, "list_per_page", 5)
  html = admin_client_en.get(reverse("admin:leads_lead_changelist")).content.decode()
  assert "more than 10" in html


@pytest.mark.django_db
def test_unfiltered_lists_use_the_planner_estimate_on_postgresql(monkeypatch):
  _leads(12)
  monkeypatch.setattr(FastCountPaginator, "count_cap", 10)
  if connection.vendor != "postgresql":
    assert table_row_estimate(Lead) is None
    return
  with connection.cursor() as cursor:
    cursor.execute(f"ANALYZE {Lead._meta.db_table}")
  paginator = FastCountPaginator(Lead.objects.order_by("id"), 5)
  assert (paginator.count, paginator.is_estimate) == (12, True)
  assert paginator.validate_number(4) == 4  # past the estimate: an empty page, not an error
  assert list(paginator.page(4)) == []


def test_plain_lists_are_counted_by_length():
  paginator = FastCountPaginator(list(range(3)), 2)
  assert (paginator.count, paginator.num_pages) == (3, 2)


@pytest.mark.django_db
def test_an_estimate_still_refuses_page_zero(monkeypatch):
  _leads(11)
  monkeypatch.setattr("assistant.admin_paging.table_row_estimate", lambda model, using: 50_000)
  paginator = FastCountPaginator(Lead.objects.order_by("id"), 10)
  assert paginator.count == 50_000 and paginator.is_estimate
  from django.core.paginator import EmptyPage

  with pytest.raises(EmptyPage):
    paginator.validate_number(0)
  html_paginator = FastCountPaginator(Lead.objects.order_by("id"), 10)
  assert html_paginator.validate_number("3") == 3


@pytest.mark.django_db
def test_a_filtered_list_is_scanned_once_and_pages_fetched_by_id(django_assert_num_queries):
  # given
  _leads(8)
  paginator = FastCountPaginator(Lead.objects.filter(name__startswith="L").order_by("-id"), 5)

  # then: one query for the ids (the count), one per page
  with django_assert_num_queries(2):
    assert paginator.count == 8
    assert [lead.name for lead in paginator.page(1)] == ["L7", "L6", "L5", "L4", "L3"]
  with django_assert_num_queries(1):
    assert [lead.name for lead in paginator.page(2)] == ["L2", "L1", "L0"]


@pytest.mark.django_db
def test_distinct_lists_are_counted_with_a_capped_count(monkeypatch):
  _leads(12)
  monkeypatch.setattr(FastCountPaginator, "count_cap", 10)
  paginator = FastCountPaginator(
    Lead.objects.filter(name__startswith="L").distinct().order_by("id"), 5
  )
  assert (paginator.count, paginator.is_capped) == (10, True)
  assert [lead.name for lead in paginator.page(2)] == ["L5", "L6", "L7", "L8", "L9"]
