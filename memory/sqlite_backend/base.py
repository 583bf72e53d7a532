"""Django's SQLite backend plus the SQL function the memory search triggers call.

SQLite has no Russian/English stemmer, so the FTS5 index stores terms computed in Python
(memory.search_text); triggers on memory_message call `memory_search_terms(chat_id, customer_id,
text)` to keep the index in step with every insert, edit and delete, whoever writes. Registering
the function on each new connection here (instead of a connection signal) keeps it explicit.
"""

from django.db.backends.sqlite3 import base

from memory.search_text import sqlite_index_text


class DatabaseWrapper(base.DatabaseWrapper):
  def get_new_connection(self, conn_params: dict):
    connection = super().get_new_connection(conn_params)
    connection.create_function("memory_search_terms", 3, sqlite_index_text, deterministic=True)
    return connection
