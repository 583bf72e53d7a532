from django.contrib import admin
from django.urls import include, path

urlpatterns = [
  # Before "admin/" so the translators' UI lives under the admin's address.
  path("admin/rosetta/", include("rosetta.urls")),
  path("admin/", admin.site.urls),
  path("i18n/", include("django.conf.urls.i18n")),  # set_language for the admin's switcher
]
