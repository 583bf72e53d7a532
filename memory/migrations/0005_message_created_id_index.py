from django.db import migrations, models


class Migration(migrations.Migration):
  dependencies = [("memory", "0004_messageembedding")]

  operations = [
    migrations.RemoveIndex(model_name="message", name="message_created_idx"),
    migrations.AddIndex(
      model_name="message",
      index=models.Index(fields=["-created_at", "-id"], name="message_created_id_idx"),
    ),
  ]
