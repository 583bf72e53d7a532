import django.db.models.deletion
from django.db import migrations, models


def install(apps, schema_editor) -> None:
  from memory import search_schema

  # The trigger that deletes an embedding when its message's text is edited.
  search_schema.install(schema_editor.connection, groups=("embeddings",))


def uninstall(apps, schema_editor) -> None:
  from memory import search_schema

  search_schema.uninstall(schema_editor.connection, groups=("embeddings",))


class Migration(migrations.Migration):
  dependencies = [("memory", "0003_message_thread_recent_index")]

  operations = [
    migrations.CreateModel(
      name="MessageEmbedding",
      fields=[
        (
          "message",
          models.OneToOneField(
            on_delete=django.db.models.deletion.CASCADE,
            primary_key=True,
            related_name="embedding",
            serialize=False,
            to="memory.message",
          ),
        ),
        ("model_name", models.CharField(max_length=200, verbose_name="model")),
        ("dimensions", models.PositiveIntegerField(verbose_name="dimensions")),
        ("vector", models.BinaryField(verbose_name="vector")),
        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
      ],
      options={
        "verbose_name": "message embedding",
        "verbose_name_plural": "message embeddings",
      },
    ),
    migrations.RunPython(install, uninstall),
  ]
