"""An admin paginator that never runs a full COUNT(*) over a huge table."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.utils.functional import cached_property


def table_row_estimate(model: type[Model], *, using: str = "default") -> int | None:
  """PostgreSQL's planner estimate of a table's rows (instant), or None where there is none."""
  connection = connections[using]
  if connection.vendor != "postgresql":
    return None
  with connection.cursor() as cursor:
    cursor.execute(
      "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
    )
    row = cursor.fetchone()
  # -1 (or 0) means the table was never vacuumed/analysed: no usable estimate yet.
  return int(row[0]) if row and row[0] > 0 else None


class FastCountPaginator(Paginator):
  """Never runs a full COUNT(*): counts at most `count_cap` rows, or uses PostgreSQL's estimate.

  Filtered lists read the ids of up to `count_cap` + 1 matching rows, in order, in one query:
  their number is the count and each page is then fetched by primary key, so a search scans the
  table once instead of twice (once to count, once for the page). An unfiltered list on
  PostgreSQL shows the planner's estimate instead. `is_estimate` makes the template say
  "about N"; `is_capped` "more than N".
  """

  count_cap = 10_000

  def __init__(self, *args, **kwargs) -> None:
    super().__init__(*args, **kwargs)
    self.is_estimate = False
    self.is_capped = False
    self._ids: list | None = None

  @cached_property
  def count(self) -> int:
    queryset = self.object_list
    if not isinstance(queryset, QuerySet):
      return super().count
    if not queryset.query.where:
      estimate = table_row_estimate(queryset.model, using=queryset.db)
      if estimate is not None and estimate > self.count_cap:
        self.is_estimate = True
        return estimate
    if queryset.query.distinct:  # ids alone can't carry DISTINCT's ordering columns
      counted = queryset.order_by()[: self.count_cap + 1].count()
    else:
      self._ids = list(queryset.values_list("pk", flat=True)[: self.count_cap + 1])
      counted = len(self._ids)
    if counted > self.count_cap:
      self.is_capped = True
      return self.count_cap
    return counted

  def page(self, number: int | str) -> Page:
    number = self.validate_number(number)
    if self._ids is None:
      return super().page(number)
    bottom = (number - 1) * self.per_page
    ids = self._ids[bottom : min(bottom + self.per_page, self.count)]
    rows = {row.pk: row for row in self.object_list.filter(pk__in=ids)}
    return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)

  def validate_number(self, number: int | float | str) -> int:
    # An estimate may be a little high: a page past the real end is shown empty, not as an error.
    _ = self.count  # sets is_estimate
    if self.is_estimate and str(number).isdigit() and int(number) >= 1:
      return int(number)
    return super().validate_number(number)
