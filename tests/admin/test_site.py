import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.admin.conftest import english_client

LOGIN = "/admin/login/"


@pytest.mark.django_db
def test_admin_header_and_titles_come_from_settings(admin_client_en, settings):
  settings.ADMIN_SITE_TITLE = "Bakery Helper"
  html = admin_client_en.get(reverse("admin:index")).content.decode()
  assert '<div id="site-name"><a href="/admin/">Bakery Helper</a></div>' in html
  assert "<title>Dashboard | Bakery Helper</title>" in html


@pytest.mark.django_db
def test_language_switcher_changes_the_admin_language(superuser):
  # given
  client = Client()
  client.force_login(superuser)

  # when
  english = client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"}, follow=True)
  russian = client.post("/i18n/setlang/", {"language": "ru", "next": "/admin/"}, follow=True)

  # then
  assert english.redirect_chain[-1][0] == "/admin/"
  assert (
    "Log out" in english.content.decode() and 'id="language-select"' in english.content.decode()
  )
  assert "Выйти" in russian.content.decode()
  assert '<option value="ru" selected>' in russian.content.decode()


@pytest.mark.django_db
def test_the_admin_follows_the_browser_language_by_default(superuser):
  client = Client(HTTP_ACCEPT_LANGUAGE="ru")
  client.force_login(superuser)
  assert "Аналитика" in client.get(reverse("admin:index")).content.decode()


def _fail(client: Client, password: str = "wrong"):
  return client.post(LOGIN, {"username": "boss", "password": password, "next": "/admin/"})


@pytest.mark.django_db
def test_login_locks_out_an_address_after_too_many_failures(superuser, settings):
  # given
  settings.LOGIN_MAX_ATTEMPTS = 3
  settings.LOGIN_LOCKOUT_MINUTES = 7
  client = english_client()

  # when
  attempts = [_fail(client).status_code for _ in range(3)]
  locked = _fail(client, password="pass-Word-123")

  # then: the right password is refused too while locked out
  assert attempts[:2] == [200, 200]
  assert attempts[2] == 429
  assert locked.status_code == 429
  assert "Too many failed login attempts. Try again in 7 minutes." in locked.content.decode()
  other_address = Client(REMOTE_ADDR="10.0.0.2")
  assert (
    other_address.post(LOGIN, {"username": "boss", "password": "pass-Word-123"}).status_code == 302
  )


@pytest.mark.django_db
def test_a_successful_login_resets_the_failure_count(superuser, settings):
  settings.LOGIN_MAX_ATTEMPTS = 3
  client = english_client()
  _fail(client), _fail(client)
  assert _fail(client, password="pass-Word-123").status_code == 302
  client.logout()
  assert [_fail(client).status_code for _ in range(2)] == [200, 200]


@pytest.mark.django_db
def test_behind_a_proxy_the_forwarded_address_is_counted(superuser, settings):
  from django.test import RequestFactory

  from assistant.admin_auth import client_ip

  request = RequestFactory().get(
    "/", HTTP_X_FORWARDED_FOR="1.2.3.4, 10.0.0.1", REMOTE_ADDR="10.0.0.1"
  )
  settings.SECURE_PROXY_SSL_HEADER = None
  assert client_ip(request) == "10.0.0.1"
  settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
  assert client_ip(request) == "1.2.3.4"


@pytest.mark.django_db
def test_password_login_without_a_request_still_works(superuser):
  from django.contrib.auth import authenticate

  assert authenticate(username="boss", password="pass-Word-123") == superuser
  assert Client().login(username="boss", password="pass-Word-123") is True


@pytest.mark.django_db
def test_non_staff_users_cannot_open_admin_pages(client):
  user = User.objects.create_user("customer", password="x-Password-1")
  client.force_login(user)
  for url in [
    reverse("admin:analytics"),
    reverse("admin:exports"),
    reverse("admin:leads_lead_changelist"),
  ]:
    assert client.get(url).status_code == 302


@pytest.mark.django_db
def test_there_is_no_view_site_link(admin_client_en):
  assert "View site" not in admin_client_en.get(reverse("admin:index")).content.decode()
