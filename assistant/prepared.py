"""Hot-path reads compiled to SQL once, then run with new values.

Building a query costs Django ~0.3 ms of Python (filters, compiler, ordering); the database runs
a primary-key or unique-index look-up in ~0.03 ms. The bot makes a few such reads per message,
so for them the ORM queryset is built and compiled once per database connection, with
placeholders, and later calls only bind values, execute and turn rows into model instances:

    _CUSTOMER = PreparedQuery(
      lambda p: Customer.objects.filter(channel=p.str("channel"), external_id=p.str("id"))[:1]
    )
    customer = _CUSTOMER.first(channel="telegram", id="42")

The SQL is exactly what the ORM would run for that queryset (its own compiler writes it), the
rows get the ORM's converters (datetimes, JSON…) and `select_related` objects, and queries show
in `connection.queries` as usual. Placeholders are typed (`str`, `int`, `datetime`) and a value
of another type is refused: the ORM's own value preparation does not run here, so None (which
the ORM would turn into `IS NULL`) or a model instance could not mean what they mean to it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators

M = TypeVar("M", bound=Model)

# Placeholder values: unlike any real value, and inside every integer column's range (Django
# answers a look-up beyond a column's range without asking the database, i.e. without SQL).
_INT_BASE = 2_000_000_000
_DATETIME_BASE = dt.datetime(1901, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


class PreparedQueryError(Exception):
  """A prepared query can't be compiled or a value doesn't fit its placeholder."""


@dataclass(frozen=True)
class _Slot:
  name: str
  kind: type
  # The driver's wrapper the ORM put around the value, e.g. psycopg's Int8 for a bigint column.
  wrap: type | None = None


class Placeholders:
  """Hands out placeholder values to the queryset builder and recognises them in the SQL params."""

  def __init__(self) -> None:
    self.slots: list[_Slot] = []
    self._values: list[Any] = []

  def str(self, name: str) -> str:
    return self._add(name, str, f"\x00prepared:{len(self.slots)}:{name}\x00")

  def int(self, name: str) -> int:
    return self._add(name, int, _INT_BASE + len(self.slots))

  def datetime(self, name: str) -> dt.datetime:
    return self._add(name, dt.datetime, _DATETIME_BASE + dt.timedelta(microseconds=len(self.slots)))

  def _add(self, name: str, kind: type, value: Any) -> Any:
    self.slots.append(_Slot(name, kind))
    self._values.append(value)
    return value

  def match(self, param: Any, connection: BaseDatabaseWrapper) -> _Slot | None:
    """The slot whose placeholder (as the ORM adapted it for `connection`) `param` is."""
    for slot, value in zip(self.slots, self._values, strict=True):
      adapted = _adapt(slot.kind, value, connection)
      if type(param) is type(adapted) and param == adapted:
        return slot
      if type(adapted) is int and isinstance(param, int) and param == adapted:
        return replace(slot, wrap=type(param))
    return None


def _adapt(kind: type, value: Any, connection: BaseDatabaseWrapper) -> Any:
  """A value as the ORM passes it to the driver (SQLite stores datetimes as text)."""
  if kind is dt.datetime:
    return connection.ops.adapt_datetimefield_value(value)
  return value


@dataclass(frozen=True)
class _Compiled:
  sql: str
  params: tuple[_Slot | Any, ...]  # a slot is filled from the call's values; others are constants
  model: type[Model] | None  # None: rows are tuples (values_list querysets)
  attnames: tuple[str, ...]
  model_columns: slice  # the row's columns that are the model's own (or the values)
  converters: dict[int, tuple[list[Callable], Any]]
  populators: list  # fill select_related objects


class PreparedQuery(Generic[M]):
  """A read whose SQL is compiled once per connection; see the module docstring."""

  def __init__(self, build: Callable[[Placeholders], QuerySet]) -> None:
    self.build = build
    self._local = threading.local()  # compiled per thread: Django's connections are per thread

  def all(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[M]:
    """Every row, as model instances (or tuples for a `values_list` queryset)."""
    connection = connections[using]
    compiled = self._compiled(connection, using)
    with connection.cursor() as cursor:
      cursor.execute(compiled.sql, self._bind(compiled, values, connection))
      rows = cursor.fetchall()
    return [self._row(compiled, row, connection, using) for row in rows]

  def first(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> M | None:
    """The first row or None (slice the queryset with [:1] so the database stops there)."""
    rows = self.all(using=using, **values)
    return rows[0] if rows else None

  def _compiled(self, connection: BaseDatabaseWrapper, using: str) -> _Compiled:
    cache = self._local.__dict__.setdefault("compiled", {})
    if using not in cache:
      cache[using] = self._compile(connection, using)
    return cache[using]

  def _compile(self, connection: BaseDatabaseWrapper, using: str) -> _Compiled:
    placeholders = Placeholders()
    queryset = self.build(placeholders)
    compiler = queryset.query.get_compiler(using=using)
    sql, raw_params = compiler.as_sql()
    params = tuple(placeholders.match(param, connection) or param for param in raw_params)
    missing = {s.name for s in placeholders.slots} - {
      p.name for p in params if isinstance(p, _Slot)
    }
    if missing:
      raise PreparedQueryError(f"Placeholders not found in the compiled SQL: {sorted(missing)}")
    select = compiler.select
    model, attnames, columns, populators = None, (), slice(0, compiler.col_count), []
    if queryset._iterable_class is ModelIterable:
      klass_info = compiler.klass_info
      fields = klass_info["select_fields"]
      columns = slice(fields[0], fields[-1] + 1)
      model = klass_info["model"]
      attnames = tuple(column[0].target.attname for column in select[columns])
      populators = get_related_populators(klass_info, select, using)
    elif queryset._iterable_class is not ValuesListIterable:
      raise PreparedQueryError("Only model and values_list() querysets can be prepared")
    converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])
    return _Compiled(sql, params, model, attnames, columns, converters, populators)

  def _bind(
    self, compiled: _Compiled, values: dict[str, Any], connection: BaseDatabaseWrapper
  ) -> list[Any]:
    params = []
    for param in compiled.params:
      if not isinstance(param, _Slot):
        params.append(param)
        continue
      if param.name not in values:
        raise PreparedQueryError(f"No value for the placeholder {param.name!r}")
      value = values[param.name]
      if type(value) is not param.kind and not (
        param.kind is dt.datetime and isinstance(value, dt.datetime)
      ):
        kind = param.kind.__name__
        raise PreparedQueryError(f"{param.name!r} must be a {kind}, not {type(value).__name__}")
      value = _adapt(param.kind, value, connection)
      params.append(value if param.wrap is None else param.wrap(value))
    return params

  def _row(
    self, compiled: _Compiled, row: tuple, connection: BaseDatabaseWrapper, using: str
  ) -> Any:
    if compiled.converters:
      row = list(row)
      for position, (functions, expression) in compiled.converters.items():
        value = row[position]
        for function in functions:
          value = function(value, expression, connection)
        row[position] = value
    if compiled.model is None:
      return tuple(row[compiled.model_columns])
    instance = compiled.model.from_db(using, compiled.attnames, row[compiled.model_columns])
    for populator in compiled.populators:
      populator.populate(row, instance)
    return instance
