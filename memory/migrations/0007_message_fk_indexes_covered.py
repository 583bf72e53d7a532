"""Drop the single-column chat and customer indexes of memory_message: the composite indexes
(chat, -created_at, -id) and (customer, -created_at, -id) lead with the same columns and serve
every look-up; the extra two only cost time on every insert.

Only the indexes are dropped (same names on SQLite and PostgreSQL): an AlterField would rebuild
the whole table on SQLite (dropping the full-text triggers) and re-validate the foreign keys.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
  dependencies = [
    ("leads", "0004_staff_permissions_and_list_indexes"),
    ("memory", "0006_chat_not_allowed_notice"),
  ]

  operations = [
    migrations.SeparateDatabaseAndState(
      database_operations=[
        migrations.RunSQL(
          'DROP INDEX IF EXISTS "memory_message_chat_id_97cafdbe"',
          'CREATE INDEX "memory_message_chat_id_97cafdbe" ON "memory_message" ("chat_id")',
        ),
        migrations.RunSQL(
          'DROP INDEX IF EXISTS "memory_message_customer_id_5359e767"',
          'CREATE INDEX "memory_message_customer_id_5359e767" ON "memory_message" ("customer_id")',
        ),
      ],
      state_operations=[
        migrations.AlterField(
          model_name="message",
          name="chat",
          field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="messages",
            to="memory.chat",
          ),
        ),
        migrations.AlterField(
          model_name="message",
          name="customer",
          field=models.ForeignKey(
            blank=True,
            db_index=False,
            help_text="The customer who wrote it, or whom an assistant reply answers.",
            null=True,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="messages",
            to="leads.customer",
            verbose_name="customer",
          ),
        ),
      ],
    ),
  ]
