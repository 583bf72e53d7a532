"""Database objects behind the memory search, per vendor, kept in step by the database itself.

PostgreSQL: a `search_vector` tsvector column on memory_message, filled by a BEFORE INSERT/UPDATE
trigger with `to_tsvector('russian', text)` (Cyrillic words: Snowball Russian; ASCII words:
Snowball English), under a GIN index, plus a partial (customer, chat, id) index for newest-first
walks. SQLite: an FTS5 table `memory_message_fts` (rowid = message id) holding a scope token
`s<chat>_<customer>` and the same Snowball terms computed in Python (`memory_search_terms`, see
memory.sqlite_backend), written by AFTER INSERT/UPDATE/DELETE triggers.

Only messages that can be remembered are indexed: a customer is set, the role is not "system" and
the kind is "text". `install()` is idempotent: migrations call it, and so does
`manage.py rebuild_memory_index`, which also repairs triggers a table rebuild may have dropped.
"""

from collections.abc import Callable

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

INDEXED_WHEN = "customer_id IS NOT NULL AND role <> 'system' AND kind = 'text'"
_NEW_INDEXED = "new.customer_id IS NOT NULL AND new.role <> 'system' AND new.kind = 'text'"
TEXT_SEARCH_CONFIG = "russian"

_PG_FUNCTION = f"""
  CREATE OR REPLACE FUNCTION memory_message_search_vector() RETURNS trigger
  LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.customer_id IS NOT NULL AND NEW.role <> 'system' AND NEW.kind = 'text' THEN
      NEW.search_vector := to_tsvector('{TEXT_SEARCH_CONFIG}'::regconfig, coalesce(NEW.text, ''));
    ELSE
      NEW.search_vector := NULL;
    END IF;
    RETURN NEW;
  END
  $$
"""


def _pg_relation(name: str) -> str:
  return f"SELECT 1 WHERE to_regclass('{name}') IS NOT NULL"


# (what, "does it exist?" query, statement that creates it). Only missing objects are created:
# ALTER TABLE and CREATE INDEX lock the table, which a running bot should not wait for.
_PG_OBJECTS = [
  (
    "column search_vector",
    "SELECT 1 FROM information_schema.columns"
    " WHERE table_name = 'memory_message' AND column_name = 'search_vector'",
    "ALTER TABLE memory_message ADD COLUMN search_vector tsvector",
  ),
  (
    "function memory_message_search_vector",
    "SELECT 1 FROM pg_proc WHERE proname = 'memory_message_search_vector'",
    _PG_FUNCTION,
  ),
  (
    "trigger memory_message_search_vector",
    "SELECT 1 FROM pg_trigger WHERE tgname = 'memory_message_search_vector'",
    """
    CREATE TRIGGER memory_message_search_vector
    BEFORE INSERT OR UPDATE OF text, kind, role, customer_id, chat_id ON memory_message
    FOR EACH ROW EXECUTE FUNCTION memory_message_search_vector()
    """,
  ),
  (
    "index memory_message_search_idx",
    _pg_relation("memory_message_search_idx"),
    "CREATE INDEX memory_message_search_idx ON memory_message USING gin (search_vector)",
  ),
  (
    # Newest-first walk through one customer's indexed messages in one chat (common terms).
    "index memory_message_search_scope_idx",
    _pg_relation("memory_message_search_scope_idx"),
    "CREATE INDEX memory_message_search_scope_idx ON memory_message (customer_id, chat_id, id)"
    " WHERE search_vector IS NOT NULL",
  ),
  (
    # A chat's messages mostly come from one customer: without this the planner multiplies the
    # two selectivities, underestimates a big customer's rows and walks every match in the GIN.
    "statistics memory_message_scope_stats",
    "SELECT 1 FROM pg_statistic_ext WHERE stxname = 'memory_message_scope_stats'",
    "CREATE STATISTICS memory_message_scope_stats (dependencies, mcv)"
    " ON customer_id, chat_id FROM memory_message",
  ),
]
_PG_UNINSTALL = [
  "DROP TRIGGER IF EXISTS memory_message_search_vector ON memory_message",
  "DROP FUNCTION IF EXISTS memory_message_search_vector()",
  "DROP INDEX IF EXISTS memory_message_search_idx",
  "DROP INDEX IF EXISTS memory_message_search_scope_idx",
  "DROP STATISTICS IF EXISTS memory_message_scope_stats",
  "ALTER TABLE memory_message DROP COLUMN IF EXISTS search_vector",
]

_SQLITE_TRIGGERS = {
  "memory_message_fts_insert": f"""
  CREATE TRIGGER memory_message_fts_insert AFTER INSERT ON memory_message
  WHEN {_NEW_INDEXED}
  BEGIN
    INSERT INTO memory_message_fts(rowid, terms)
    VALUES (new.id, memory_search_terms(new.chat_id, new.customer_id, new.text));
  END
  """,
  "memory_message_fts_update": f"""
  CREATE TRIGGER memory_message_fts_update
  AFTER UPDATE OF text, kind, role, customer_id, chat_id ON memory_message
  BEGIN
    DELETE FROM memory_message_fts WHERE rowid = old.id;
    INSERT INTO memory_message_fts(rowid, terms)
    SELECT new.id, memory_search_terms(new.chat_id, new.customer_id, new.text)
    WHERE {_NEW_INDEXED};
  END
  """,
  "memory_message_fts_delete": """
  CREATE TRIGGER memory_message_fts_delete AFTER DELETE ON memory_message
  BEGIN
    DELETE FROM memory_message_fts WHERE rowid = old.id;
  END
  """,
}
# detail=none, columnsize=0: only "which messages contain this token" is needed, so the index
# keeps no positions or lengths; '_' joins the scope token and escaped characters into one token.
_SQLITE_TABLE = """
  CREATE VIRTUAL TABLE memory_message_fts USING fts5(
    terms, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'", detail = none,
    columnsize = 0
  )
"""
_SQLITE_OBJECTS = [
  (name, f"SELECT 1 FROM sqlite_master WHERE name = '{name}'", statement)
  for name, statement in {"memory_message_fts": _SQLITE_TABLE, **_SQLITE_TRIGGERS}.items()
]
_SQLITE_UNINSTALL = [
  *(f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_TRIGGERS),
  "DROP TABLE IF EXISTS memory_message_fts",
]

# Optional semantic memory: an edited text makes its embedding stale, so the edit deletes it.
_PG_EMBEDDING_OBJECTS = [
  (
    "function memory_message_embedding_stale",
    "SELECT 1 FROM pg_proc WHERE proname = 'memory_message_embedding_stale'",
    """
    CREATE OR REPLACE FUNCTION memory_message_embedding_stale() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM memory_messageembedding WHERE message_id = OLD.id;
      RETURN NULL;
    END
    $$
    """,
  ),
  (
    "trigger memory_message_embedding_stale",
    "SELECT 1 FROM pg_trigger WHERE tgname = 'memory_message_embedding_stale'",
    """
    CREATE TRIGGER memory_message_embedding_stale AFTER UPDATE OF text ON memory_message
    FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text)
    EXECUTE FUNCTION memory_message_embedding_stale()
    """,
  ),
]
_PG_EMBEDDING_UNINSTALL = [
  "DROP TRIGGER IF EXISTS memory_message_embedding_stale ON memory_message",
  "DROP FUNCTION IF EXISTS memory_message_embedding_stale()",
]
_SQLITE_EMBEDDING_OBJECTS = [
  (
    "memory_message_embedding_stale",
    "SELECT 1 FROM sqlite_master WHERE name = 'memory_message_embedding_stale'",
    """
    CREATE TRIGGER memory_message_embedding_stale AFTER UPDATE OF text ON memory_message
    WHEN old.text IS NOT new.text
    BEGIN
      DELETE FROM memory_messageembedding WHERE message_id = old.id;
    END
    """,
  ),
]
_SQLITE_EMBEDDING_UNINSTALL = ["DROP TRIGGER IF EXISTS memory_message_embedding_stale"]
GROUPS = ("fulltext", "embeddings")


def install(connection: BaseDatabaseWrapper, *, groups: tuple[str, ...] = GROUPS) -> list[str]:
  """Create whatever is missing of the search schema; returns what was created. Idempotent."""
  created, objects = [], _objects(connection, groups)
  with connection.cursor() as cursor:
    for what, exists, statement in objects:
      cursor.execute(exists)
      if cursor.fetchone() is None:
        cursor.execute(statement)
        created.append(what)
  return created


def uninstall(connection: BaseDatabaseWrapper, *, groups: tuple[str, ...] = GROUPS) -> None:
  uninstalls = _VENDORS[_vendor(connection)]["uninstall"]
  # Reverse order: the embedding trigger goes before the full-text objects.
  statements = [sql for group in reversed(GROUPS) if group in groups for sql in uninstalls[group]]
  with connection.cursor() as cursor:
    for statement in statements:
      cursor.execute(statement)


def problems(connection: BaseDatabaseWrapper) -> list[str]:
  """What is missing from the search schema (empty when everything is in place)."""
  missing, objects = [], _objects(connection, GROUPS)
  with connection.cursor() as cursor:
    for what, exists, _statement in objects:
      cursor.execute(exists)
      if cursor.fetchone() is None:
        missing.append(what)
  return missing


def _objects(
  connection: BaseDatabaseWrapper, groups: tuple[str, ...]
) -> list[tuple[str, str, str]]:
  objects = _VENDORS[_vendor(connection)]["objects"]
  return [item for group in GROUPS if group in groups for item in objects[group]]


def _vendor(connection: BaseDatabaseWrapper) -> str:
  if connection.vendor not in _VENDORS:
    raise NotImplementedError(
      f"memory search supports SQLite and PostgreSQL, not {connection.vendor}"
    )
  return connection.vendor


def index_existing(
  connection: BaseDatabaseWrapper,
  *,
  batch_size: int = 5000,
  progress: Callable[[int, int], None] | None = None,
) -> int:
  """(Re)index every stored message in batches of ids; returns how many messages were visited.

  Each batch is one transaction, so search keeps working (and new messages keep being indexed by
  the triggers) while it runs. PostgreSQL: touching `text` re-runs the trigger. SQLite: the batch's
  FTS5 rows are rewritten with `memory_search_terms`. `progress(done, total)` follows each batch.
  """
  statements = _VENDORS[_vendor(connection)]
  with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM memory_message")
    total = cursor.fetchone()[0]
  done, after = 0, 0
  while True:
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
      # Keyset batches: the next `batch_size` ids, whatever the gaps between them.
      cursor.execute(
        "SELECT max(id), count(*) FROM"
        " (SELECT id FROM memory_message WHERE id > %s ORDER BY id LIMIT %s) AS batch",
        [after, batch_size],
      )
      last, count = cursor.fetchone()
      if not count:
        # One last range past the end: SQLite drops index rows of messages that are gone.
        last = _MAX_ID
      for statement in statements["batch"]:
        cursor.execute(statement, [after, last])
    if not count:
      return done
    done, after = done + count, last
    if progress is not None:
      progress(done, total)


def optimize(connection: BaseDatabaseWrapper) -> None:
  """Merge FTS5 segments (SQLite) / refresh planner statistics (PostgreSQL) after a rebuild."""
  with connection.cursor() as cursor:
    cursor.execute(_VENDORS[_vendor(connection)]["optimize"])


_MAX_ID = 2**63 - 1
_VENDORS: dict[str, dict] = {
  "postgresql": {
    "objects": {"fulltext": _PG_OBJECTS, "embeddings": _PG_EMBEDDING_OBJECTS},
    "uninstall": {"fulltext": _PG_UNINSTALL, "embeddings": _PG_EMBEDDING_UNINSTALL},
    "batch": ["UPDATE memory_message SET text = text WHERE id > %s AND id <= %s"],
    "optimize": "ANALYZE memory_message",
  },
  "sqlite": {
    "objects": {"fulltext": _SQLITE_OBJECTS, "embeddings": _SQLITE_EMBEDDING_OBJECTS},
    "uninstall": {"fulltext": _SQLITE_UNINSTALL, "embeddings": _SQLITE_EMBEDDING_UNINSTALL},
    "batch": [
      "DELETE FROM memory_message_fts WHERE rowid > %s AND rowid <= %s",
      "INSERT INTO memory_message_fts(rowid, terms)"
      " SELECT id, memory_search_terms(chat_id, customer_id, text) FROM memory_message"
      f" WHERE id > %s AND id <= %s AND {INDEXED_WHEN}",
    ],
    "optimize": "INSERT INTO memory_message_fts(memory_message_fts) VALUES ('optimize')",
  },
}
