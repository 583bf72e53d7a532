import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler


def test_wsgi_application_is_djangos_handler():
  from assistant.wsgi import application

  assert isinstance(application, WSGIHandler)


def test_asgi_application_is_djangos_handler():
  from assistant.asgi import application

  assert isinstance(application, ASGIHandler)


@pytest.mark.django_db
def test_asgi_application_serves_the_admin_login(client):
  # The admin is what `serve` (uvicorn assistant.asgi:application) exposes.
  response = client.get("/admin/login/")

  assert response.status_code == 200
