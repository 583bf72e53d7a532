from django.db import migrations, models


class Migration(migrations.Migration):
  dependencies = [("memory", "0002_message_full_text_search")]

  operations = [
    migrations.AddIndex(
      model_name="message",
      index=models.Index(
        condition=models.Q(("thread_id__isnull", False)),
        fields=["chat", "thread_id", "-created_at", "-id"],
        name="message_thread_recent_idx",
      ),
    ),
  ]
