"""Staff roles as Django groups with exact permissions (`manage.py setup_roles` applies them).

Admins are superusers. Managers work with customers, leads, feedback and transcripts, export
and see analytics. Content editors edit what the assistant says: prompts, FAQ, catalog,
scenarios and the interface translations.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

logger = logging.getLogger(__name__)

MANAGERS = "Managers"
CONTENT_EDITORS = "Content editors"

# Permissions not generated from a model's add/change/delete/view: (app.codename, model, name).
CUSTOM_PERMISSIONS = [
  ("leads.export_lead", "leads.lead", "Can export leads"),
  ("leads.view_analytics", "leads.lead", "Can see analytics"),
  ("leads.export_customer", "leads.customer", "Can export customers"),
  ("llm.translate_interface", "llm.prompt", "Can translate the interface"),
]

ROLES: dict[str, list[str]] = {
  MANAGERS: [
    "leads.view_lead",
    "leads.change_lead",
    "leads.view_customer",
    "leads.change_customer",
    "leads.view_feedback",
    "leads.change_feedback",
    "leads.view_catalogservice",
    "leads.view_faqentry",
    "leads.view_scenario",
    "memory.view_chat",
    "memory.view_message",
    "leads.export_lead",
    "leads.export_customer",
    "leads.view_analytics",
  ],
  CONTENT_EDITORS: [
    *(
      f"leads.{action}_{model}"
      for model in ("catalogservice", "faqentry", "scenario")
      for action in ("add", "change", "delete", "view")
    ),
    "llm.add_prompt",
    "llm.change_prompt",
    "llm.view_prompt",
    "llm.view_promptversion",
    "llm.translate_interface",
  ],
}


def _custom_permissions_ensure() -> None:
  for full_codename, model_label, name in CUSTOM_PERMISSIONS:
    codename = full_codename.split(".", 1)[1]
    content_type = ContentType.objects.get_for_model(apps.get_model(model_label))
    Permission.objects.get_or_create(
      content_type=content_type, codename=codename, defaults={"name": name}
    )


def _permission(full_codename: str) -> Permission:
  app_label, codename = full_codename.split(".", 1)
  return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def roles_setup() -> dict[str, int]:
  """Create or update the groups so each has exactly its role's permissions; returns the counts."""
  _custom_permissions_ensure()
  counts = {}
  for name, codenames in ROLES.items():
    group, created = Group.objects.get_or_create(name=name)
    group.permissions.set([_permission(codename) for codename in codenames])
    counts[name] = len(codenames)
    logger.info(
      "Role %s %s with %d permissions", name, "created" if created else "updated", len(codenames)
    )
  return counts
