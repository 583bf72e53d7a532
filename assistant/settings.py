"""Django settings: every value comes from the environment (or `.env`), typed and validated."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from assistant.env import Env, bad_value
from assistant.log_config import build_logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env(BASE_DIR / ".env")
VAR_DIR = BASE_DIR / "var"  # SQLite files, logs, exports: everything the app writes at run time
VAR_DIR.mkdir(exist_ok=True)

# --- Core ---------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY")
if not SECRET_KEY:
  raise ImproperlyConfigured(
    "SECRET_KEY is not set: run `make install` (it writes one into .env) or set it in the environment."
  )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
  "django.contrib.admin",
  "django.contrib.auth",
  "django.contrib.contenttypes",
  "django.contrib.sessions",
  "django.contrib.messages",
  "whitenoise.runserver_nostatic",
  "django.contrib.staticfiles",
  "import_export",
  "assistant",
  "leads",
  "llm",
  "memory",
  "bot",
]

MIDDLEWARE = [
  "django.middleware.security.SecurityMiddleware",
  "whitenoise.middleware.WhiteNoiseMiddleware",
  "django.contrib.sessions.middleware.SessionMiddleware",
  "django.middleware.locale.LocaleMiddleware",
  "django.middleware.common.CommonMiddleware",
  "django.middleware.csrf.CsrfViewMiddleware",
  "django.contrib.auth.middleware.AuthenticationMiddleware",
  "django.contrib.messages.middleware.MessageMiddleware",
  "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "assistant.urls"
WSGI_APPLICATION = "assistant.wsgi.application"
ASGI_APPLICATION = "assistant.asgi.application"

TEMPLATES = [
  {
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "assistant" / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {
      "context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "django.template.context_processors.i18n",
      ],
    },
  },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
  # WAL lets readers run beside one writer; IMMEDIATE takes the write lock at BEGIN so two
  # writers queue on the busy timeout instead of failing with "database is locked" mid-transaction.
  _db["OPTIONS"] = {
    "transaction_mode": "IMMEDIATE",
    "timeout": env.int("SQLITE_BUSY_TIMEOUT", 20, minimum=1),
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
  }
elif _db["ENGINE"] in {"django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"}:
  _db["ENGINE"] = "django.db.backends.postgresql"
  # psycopg's connection pool: ORM threads (assistant.db.run_db) return connections after each
  # call, so the bot holds none while the LLM works, and reconnecting costs nothing.
  _db["CONN_MAX_AGE"] = 0
  _db.setdefault("OPTIONS", {})["pool"] = {
    "min_size": 1,
    "max_size": env.int("DB_POOL_MAX_SIZE", 20, minimum=2),
    "timeout": 30,
  }
_test_name = env.str("TEST_DATABASE_NAME")
if _test_name:
  _db["TEST"] = {"NAME": _test_name}
elif _db["ENGINE"] == "django.db.backends.sqlite3":
  # A file, not :memory:, so tests exercise WAL and threads see the same database.
  _db["TEST"] = {"NAME": str(VAR_DIR / "test_db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# ORM worker threads for the async bot (assistant.db.run_db); keep <= DB_POOL_MAX_SIZE.
DB_THREADS = env.int("DB_THREADS", 8, minimum=1)

# --- Auth, i18n, static -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
  {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
  {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
  {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
  {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LANGUAGE_CODE = env.choice("LANGUAGE_CODE", "ru", [code for code, _name in LANGUAGES])
TIME_ZONE = env.str("TIME_ZONE", "Europe/Moscow")
try:
  import zoneinfo

  zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
  raise bad_value(
    "TIME_ZONE", TIME_ZONE, "an IANA time zone such as Europe/Moscow or UTC"
  ) from None
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
  "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
  "staticfiles": {
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    if not DEBUG and env.bool("STATIC_MANIFEST", True)
    else "django.contrib.staticfiles.storage.StaticFilesStorage"
  },
}
MEDIA_ROOT = VAR_DIR / "media"

# --- Telegram -----------------------------------------------------------------------------------
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN")
TELEGRAM_API_BASE_URL = env.url("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot")

# --- LLM ----------------------------------------------------------------------------------------
LLM_MODEL_DECRYPT_KEY = env.str("LLM_MODEL_DECRYPT_KEY")
if LLM_MODEL_DECRYPT_KEY:
  from cryptography.fernet import Fernet

  for _index, _key in enumerate(LLM_MODEL_DECRYPT_KEY.split(",")):
    try:
      Fernet(_key.strip())
    except ValueError:
      raise bad_value(
        "LLM_MODEL_DECRYPT_KEY",
        f"<key #{_index + 1} hidden>",
        "comma-separated Fernet keys (32 url-safe base64 bytes each; `make install` generates one)",
      ) from None

# --- Logging ------------------------------------------------------------------------------------
LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
LOGGING = build_logging_config(env=env, base_dir=BASE_DIR, level=LOG_LEVEL)

# --- Production hardening (applies when DEBUG is off) -------------------------------------------
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_PROXY_SSL_HEADER = (
  ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", False) else None
)
X_FRAME_OPTIONS = "DENY"
