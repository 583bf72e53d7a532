"""Create or update the staff roles (groups "Managers" and "Content editors")."""

from django.core.management.base import BaseCommand

from assistant.admin_roles import roles_setup


class Command(BaseCommand):
  help = "Create or update the staff groups with exactly their permissions (safe to run again)."

  def handle(self, *args, **options) -> None:
    for name, count in roles_setup().items():
      self.stdout.write(f"{name}: {count} permissions")
    self.stdout.write(
      "Add staff to a group in the admin (Users); give them 'Staff status'. Admins are superusers."
    )
