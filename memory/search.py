"""Long-term memory search: a customer's own earlier messages that match a new question.

Ranking, the same on PostgreSQL and SQLite: take the newest MAX_CANDIDATES messages in scope that
share at least one stemmed term with the query (see memory.search_text); among them, messages
sharing more distinct terms come first, and the newer wins among equals. Taking candidates
newest-first straight from an index (FTS5 reads the scope's doclists backwards; PostgreSQL walks a
(customer, chat, id) index backwards, or the GIN index for rare terms) keeps the cost flat
however many messages a customer has.

The scope is always one customer in one chat (their private chat, or their own messages in one
group), enforced by customer/chat conditions in SQL (and on SQLite also by the index tokens
themselves, which carry the scope: see search_text.scoped_term).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from django.db import connection

from memory.models import Chat, Message
from memory.search_text import query_terms, scoped_term

if TYPE_CHECKING:
  from leads.models import Customer

MAX_QUERY_TERMS = 12  # a long question is cut to its most specific words to bound the cost
MAX_CANDIDATES = 50  # newest matching messages that are ranked


def message_search(
  *,
  customer: Customer,
  chat: Chat,
  query: str,
  limit: int,
  exclude_ids: Collection[int] = (),
  query_vector: Sequence[float] | None = None,
) -> list[Message]:
  """Up to `limit` of the customer's messages in `chat` that match `query`, best first.

  With `query_vector` (semantic memory, see memory.search_embeddings) the full-text share of
  matched terms and the cosine similarity are combined.
  """
  if limit <= 0 or customer is None or not query.strip():
    return []
  if query_vector is None:
    return _fulltext_messages(
      customer_id=customer.pk, chat_id=chat.pk, query=query, limit=limit, exclude_ids=exclude_ids
    )
  ids = message_search_ids(
    customer_id=customer.pk,
    chat_id=chat.pk,
    query=query,
    limit=limit,
    exclude_ids=exclude_ids,
    query_vector=query_vector,
  )
  found = Message.objects.in_bulk(ids)
  return [found[pk] for pk in ids if pk in found]


def message_search_ids(
  *,
  customer_id: int,
  chat_id: int,
  query: str,
  limit: int,
  exclude_ids: Collection[int] = (),
  query_vector: Sequence[float] | None = None,
) -> list[int]:
  """Ids of the best matches, best first (see the module docstring for the ranking)."""
  terms, candidates = fulltext_candidates(
    customer_id=customer_id, chat_id=chat_id, query=query, exclude_ids=exclude_ids
  )
  if query_vector is None:
    return [pk for pk, _hits in candidates[:limit]]
  from memory.search_embeddings import combined_ranking, semantic_scores

  similarity = semantic_scores(
    customer_id=customer_id,
    chat_id=chat_id,
    vector=query_vector,
    candidate_ids=[pk for pk, _hits in candidates],
    exclude_ids=exclude_ids,
  )
  return combined_ranking(
    text_hits=dict(candidates), term_count=len(terms), similarity=similarity, limit=limit
  )


def fulltext_candidates(
  *, customer_id: int, chat_id: int, query: str, exclude_ids: Collection[int] = ()
) -> tuple[list[str], list[tuple[int, int]]]:
  """The query's terms and up to MAX_CANDIDATES (message id, matched terms), best first."""
  vendor = _vendor()
  terms = _QUERY_TERMS[vendor](query)
  if not terms:
    return terms, []
  sql, params = _SEARCH_SQL[vendor](
    terms, customer_id=customer_id, chat_id=chat_id, exclude=sorted(set(exclude_ids))
  )
  with connection.cursor() as cursor:
    cursor.execute(sql, [*params, MAX_CANDIDATES])
    return terms, [(row[0], row[1]) for row in cursor.fetchall()]


def _fulltext_messages(
  *, customer_id: int, chat_id: int, query: str, limit: int, exclude_ids: Collection[int]
) -> list[Message]:
  """The best `limit` full-text matches as messages, ranked and loaded in one query."""
  vendor = _vendor()
  terms = _QUERY_TERMS[vendor](query)
  if not terms:
    return []
  ranked, params = _SEARCH_SQL[vendor](
    terms, customer_id=customer_id, chat_id=chat_id, exclude=sorted(set(exclude_ids))
  )
  columns = ", ".join(
    f"m.{connection.ops.quote_name(field.column)}" for field in Message._meta.concrete_fields
  )
  sql = (
    f"SELECT {columns} FROM ({ranked}) AS ranked JOIN memory_message AS m ON m.id = ranked.id"
    " ORDER BY ranked.hits DESC, ranked.id DESC"
  )
  return list(Message.objects.raw(sql, [*params, limit]))


def _vendor() -> str:
  if connection.vendor not in _SEARCH_SQL:
    raise NotImplementedError(
      f"memory search supports SQLite and PostgreSQL, not {connection.vendor}"
    )
  return connection.vendor


def _pg_query_terms(query: str) -> list[str]:
  """The query's lexemes as PostgreSQL's own `russian` configuration makes them."""
  with connection.cursor() as cursor:
    cursor.execute("SELECT lexeme FROM unnest(to_tsvector('russian'::regconfig, %s))", [query])
    lexemes = [row[0] for row in cursor.fetchall()]
  return sorted(lexemes, key=lambda term: (-len(term), term))[:MAX_QUERY_TERMS]


def _sqlite_query_terms(query: str) -> list[str]:
  """The query's terms, stemmed in Python the way the FTS5 table's were (see search_text)."""
  return query_terms(query, limit=MAX_QUERY_TERMS)


def _tsquery_literal(lexeme: str) -> str:
  escaped = lexeme.replace("\\", "\\\\").replace("'", "''")
  return f"'{escaped}'"


def _not_in(column: str, exclude: list[int]) -> str:
  return f" AND {column} NOT IN ({', '.join(['%s'] * len(exclude))})" if exclude else ""


def _pg_search_sql(
  terms: list[str], *, customer_id: int, chat_id: int, exclude: list[int]
) -> tuple[str, list]:
  literals = [_tsquery_literal(term) for term in terms]
  hits = " + ".join(["(m.search_vector @@ %s::tsquery)::int"] * len(literals))
  sql = (
    f"SELECT id, hits FROM (SELECT m.id, {hits} AS hits FROM memory_message AS m"
    " WHERE m.customer_id = %s AND m.chat_id = %s AND m.search_vector @@ %s::tsquery"
    f"{_not_in('m.id', exclude)} ORDER BY m.id DESC LIMIT %s) AS candidates"
    " ORDER BY hits DESC, id DESC LIMIT %s"
  )
  params = [*literals, customer_id, chat_id, " | ".join(literals), *exclude, MAX_CANDIDATES]
  return sql, params


def _sqlite_search_sql(
  terms: list[str], *, customer_id: int, chat_id: int, exclude: list[int]
) -> tuple[str, list]:
  # Tokens are letters, digits and '_' only (scoped_term), so quoting cannot break the query.
  tokens = [scoped_term(term, chat_id=chat_id, customer_id=customer_id) for term in terms]
  hits = " + ".join(["(instr(' ' || f.terms || ' ', %s) > 0)"] * len(tokens))
  sql = (
    f"SELECT m.id, candidates.hits FROM (SELECT f.rowid AS id, {hits} AS hits"
    " FROM memory_message_fts AS f"
    f" WHERE memory_message_fts MATCH %s{_not_in('f.rowid', exclude)}"
    " ORDER BY f.rowid DESC LIMIT %s) AS candidates"
    " JOIN memory_message AS m ON m.id = candidates.id"
    " WHERE m.customer_id = %s AND m.chat_id = %s ORDER BY candidates.hits DESC, m.id DESC LIMIT %s"
  )
  match = " OR ".join(f'"{token}"' for token in tokens)
  params = [
    *(f" {token} " for token in tokens),
    match,
    *exclude,
    MAX_CANDIDATES,
    customer_id,
    chat_id,
  ]
  return sql, params


_QUERY_TERMS = {"postgresql": _pg_query_terms, "sqlite": _sqlite_query_terms}
_SEARCH_SQL = {"postgresql": _pg_search_sql, "sqlite": _sqlite_search_sql}
