"""Admin test fixtures: staff users per role, an English-speaking client, exports in tmp."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client

from assistant.admin_roles import CONTENT_EDITORS, MANAGERS, roles_setup


@pytest.fixture(autouse=True)
def _admin_isolation(settings, tmp_path):
  """Exports go to a temporary folder; static files need no collectstatic manifest."""
  settings.EXPORT_DIR = tmp_path / "exports"
  settings.STATIC_ROOT = tmp_path / "static"
  settings.STATIC_ROOT.mkdir()
  settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
  }


def english_client(user: User | None = None) -> Client:
  client = Client()
  client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
  if user is not None:
    client.force_login(user)
  return client


@pytest.fixture
def superuser(db) -> User:
  return User.objects.create_superuser("boss", "boss@example.com", "pass-Word-123")


@pytest.fixture
def admin_client_en(superuser) -> Client:
  """A superuser's client with the admin in English."""
  return english_client(superuser)


def _staff_in(group_name: str, username: str) -> User:
  roles_setup()
  user = User.objects.create_user(
    username, f"{username}@example.com", "pass-Word-123", is_staff=True
  )
  user.groups.add(Group.objects.get(name=group_name))
  return user


@pytest.fixture
def manager(db) -> User:
  return _staff_in(MANAGERS, "manager")


@pytest.fixture
def editor(db) -> User:
  return _staff_in(CONTENT_EDITORS, "editor")


@pytest.fixture
def manager_client(manager) -> Client:
  return english_client(manager)


@pytest.fixture
def editor_client(editor) -> Client:
  return english_client(editor)
