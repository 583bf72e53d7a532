"""Admin login protection (django-axes hooks) and who may use the translators' UI."""

from __future__ import annotations

from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from assistant.admin_site import PERM_TRANSLATE


class LockoutBackend(AxesStandaloneBackend):
  """django-axes' lockout check for every login that comes with a request.

  Logins without a request (scripts, `Client.login` in tests) have no address to lock out, so they
  go straight to the password check instead of failing as the stock backend does.
  """

  def authenticate(self, request: HttpRequest | None, *args, **kwargs) -> None:
    if request is None:
      return None
    return super().authenticate(request, *args, **kwargs)


def client_ip(request: HttpRequest) -> str:
  """The address logins are counted by: the proxy's X-Forwarded-For only when BEHIND_PROXY."""
  forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
  if settings.SECURE_PROXY_SSL_HEADER and forwarded:
    return forwarded.split(",")[0].strip()
  return request.META.get("REMOTE_ADDR", "")


def can_translate(user: AbstractBaseUser) -> bool:
  """Who may open the translators' UI (django-rosetta)."""
  return bool(user.is_active and user.is_staff and user.has_perm(PERM_TRANSLATE))


def login_failure_limit(request: HttpRequest, credentials: dict | None) -> int:
  """Failed logins allowed before a lockout (django-axes calls it on every attempt)."""
  return settings.LOGIN_MAX_ATTEMPTS


def login_cool_off(request: HttpRequest | None = None) -> timedelta:
  """How long a lockout lasts."""
  return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def lockout_response(
  request: HttpRequest,
  original_response: HttpResponse | None = None,
  credentials: dict | None = None,
) -> HttpResponse:
  """The admin-styled page a locked-out address gets (HTTP 429)."""
  context = {
    **admin.site.each_context(request),
    "title": _("Too many failed logins"),
    "cooloff_minutes": settings.LOGIN_LOCKOUT_MINUTES,
  }
  response = TemplateResponse(request, "admin/lockout.html", context, status=429)
  return response.render()
