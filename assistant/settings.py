"""Django settings: every value comes from the environment (or `.env`), typed and validated."""

import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from assistant.env import Env, bad_value
from assistant.log_config import FILE_WHEN, LEVELS, LogOptions, build_logging_config

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
  "assistant.admin_site.AssistantAdminConfig",  # django.contrib.admin with our AdminSite
  "django.contrib.auth",
  "django.contrib.contenttypes",
  "django.contrib.sessions",
  "django.contrib.messages",
  "whitenoise.runserver_nostatic",
  "django.contrib.staticfiles",
  "import_export",
  "rosetta",
  "axes",
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
  # Last, as django-axes requires: turns a locked-out login into its lockout page.
  "axes.middleware.AxesMiddleware",
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
  # Django's SQLite backend + the Python function the memory search index triggers call.
  _db["ENGINE"] = "memory.sqlite_backend"
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
  if env.bool("DB_PREPARED_STATEMENTS", True):
    # Parameters bound by the server, and a statement run twice on a connection is prepared
    # there: the bot's few hot statements skip parsing and planning (their share of a turn).
    # Off for PgBouncer in transaction mode before 1.21 (it can't follow prepared statements).
    _db.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=2)
  _db.setdefault("OPTIONS", {})["pool"] = {
    "min_size": 1,
    "max_size": env.int("DB_POOL_MAX_SIZE", 20, minimum=2),
    "timeout": 30,
  }
_test_name = env.str("TEST_DATABASE_NAME")
if _test_name:
  _db["TEST"] = {"NAME": _test_name}
elif _db["ENGINE"] == "memory.sqlite_backend":
  # A file, not :memory:, so tests exercise WAL and threads see the same database.
  _db["TEST"] = {"NAME": str(VAR_DIR / "test_db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# ORM worker threads for the async bot (assistant.db.run_db); keep <= DB_POOL_MAX_SIZE. More
# threads only fight over the GIL with the event loop (docs/benchmarks.md, Telegram throughput).
DB_THREADS = env.int("DB_THREADS", 2, minimum=1)

# --- Auth, i18n, static -------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
  # Refuses logins while an address is locked out after too many failures (django-axes).
  "assistant.admin_auth.LockoutBackend",
  "django.contrib.auth.backends.ModelBackend",
]
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
# Webhook mode (`runbot --webhook`): public HTTPS URL Telegram posts to, and where we listen.
TELEGRAM_WEBHOOK_URL = env.url("TELEGRAM_WEBHOOK_URL")
TELEGRAM_WEBHOOK_SECRET = env.str("TELEGRAM_WEBHOOK_SECRET")
if TELEGRAM_WEBHOOK_SECRET and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", TELEGRAM_WEBHOOK_SECRET):
  raise bad_value(
    "TELEGRAM_WEBHOOK_SECRET", "<hidden>", "1-256 characters from A-Z, a-z, 0-9, _ and -"
  )
TELEGRAM_WEBHOOK_LISTEN = env.str("TELEGRAM_WEBHOOK_LISTEN", "0.0.0.0")
TELEGRAM_WEBHOOK_PORT = env.int("TELEGRAM_WEBHOOK_PORT", 8443, minimum=1)
# Update processing (bot/processor.py): handlers running at once, and updates accepted but not done.
TELEGRAM_MAX_CONCURRENT_UPDATES = env.int("TELEGRAM_MAX_CONCURRENT_UPDATES", 2048, minimum=1)
TELEGRAM_MAX_PENDING_UPDATES = env.int("TELEGRAM_MAX_PENDING_UPDATES", 10000, minimum=1)
# Outgoing limits (Telegram's: ~30 messages/s overall, 20/min per group; 0 turns a limit off).
TELEGRAM_RATE_LIMIT_PER_SECOND = env.int("TELEGRAM_RATE_LIMIT_PER_SECOND", 30, minimum=0)
TELEGRAM_GROUP_RATE_LIMIT_PER_MINUTE = env.int(
  "TELEGRAM_GROUP_RATE_LIMIT_PER_MINUTE", 20, minimum=0
)
TELEGRAM_MAX_RETRIES = env.int("TELEGRAM_MAX_RETRIES", 3, minimum=0)
# Streaming answers: edit the message as the LLM writes, at most once per interval (seconds).
TELEGRAM_STREAMING = env.bool("TELEGRAM_STREAMING", True)
TELEGRAM_STREAM_EDIT_INTERVAL = env.float("TELEGRAM_STREAM_EDIT_INTERVAL", 1.0, minimum=0.05)
TELEGRAM_TYPING_INTERVAL = env.float("TELEGRAM_TYPING_INTERVAL", 4.0, minimum=0.05)
# HTTP to the Bot API, seconds; POLL_TIMEOUT is how long one getUpdates long poll waits.
TELEGRAM_CONNECT_TIMEOUT = env.float("TELEGRAM_CONNECT_TIMEOUT", 5.0, minimum=0.1)
TELEGRAM_READ_TIMEOUT = env.float("TELEGRAM_READ_TIMEOUT", 10.0, minimum=0.1)
TELEGRAM_POOL_TIMEOUT = env.float("TELEGRAM_POOL_TIMEOUT", 30.0, minimum=0.1)
TELEGRAM_CONNECTION_POOL_SIZE = env.int("TELEGRAM_CONNECTION_POOL_SIZE", 16, minimum=1)
TELEGRAM_POLL_TIMEOUT = env.int("TELEGRAM_POLL_TIMEOUT", 10, minimum=0)
# The bot's event loop: uvloop (faster) or Python's own asyncio loop (e.g. for debugging).
BOT_EVENT_LOOP = env.choice("BOT_EVENT_LOOP", "uvloop", ["uvloop", "asyncio"])
# Graceful stop: seconds to finish replies in progress before giving up.
TELEGRAM_SHUTDOWN_TIMEOUT = env.float("TELEGRAM_SHUTDOWN_TIMEOUT", 30.0, minimum=0)

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
# Model registry (docs/llm.md): a JSON file, an HTTP(S) URL serving the same JSON, or the database
# only. "auto": the URL if set, else the file if it exists, else the database. File/URL rows are
# synced into the database, which the bot reads.
LLM_MODELS_SOURCE = env.choice("LLM_MODELS_SOURCE", "auto", ["auto", "file", "url", "db"])
LLM_MODELS_FILE = Path(env.str("LLM_MODELS_FILE", "llm_models.json"))
if not LLM_MODELS_FILE.is_absolute():
  LLM_MODELS_FILE = BASE_DIR / LLM_MODELS_FILE
LLM_MODELS_URL = env.url("LLM_MODELS_URL")
LLM_MODELS_URL_TOKEN = env.str("LLM_MODELS_URL_TOKEN")  # sent as "Authorization: Bearer ..."
LLM_MODELS_RELOAD_SECONDS = env.int("LLM_MODELS_RELOAD_SECONDS", 30, minimum=0)
DEFAULT_LLM_MODEL = env.str("DEFAULT_LLM_MODEL")  # a provider_model_name from the registry
LLM_TIMEOUT = env.float("LLM_TIMEOUT", 30.0, minimum=0.1)  # seconds; a row's params.timeout wins
LLM_RETRIES = env.int("LLM_RETRIES", 1, minimum=0)  # extra tries on timeouts/429/5xx per model
LLM_RETRY_BACKOFF = env.float("LLM_RETRY_BACKOFF", 0.5, minimum=0.0)  # seconds, doubles per try
LLM_STREAMING = env.bool("LLM_STREAMING", True)
DAILY_TOKEN_BUDGET = env.int("DAILY_TOKEN_BUDGET", 0, minimum=0)  # per customer per day; 0 = off

# --- Conversation engine ------------------------------------------------------------------------
# Per-customer flood limit: more than FLOOD_MAX_MESSAGES inbound messages within
# FLOOD_WINDOW_SECONDS get one polite notice per window (the messages are still stored).
FLOOD_MAX_MESSAGES = env.int("FLOOD_MAX_MESSAGES", 20, minimum=1)
FLOOD_WINDOW_SECONDS = env.int("FLOOD_WINDOW_SECONDS", 60, minimum=1)
# Longer texts are stored in full but answered with a "please shorten it" notice.
MAX_INPUT_CHARS = env.int("MAX_INPUT_CHARS", 4000, minimum=100)
# Region for phone numbers typed without a country code (ISO 3166 alpha-2).
DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", "RU").upper()
import phonenumbers  # noqa: E402

if DEFAULT_PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
  raise bad_value(
    "DEFAULT_PHONE_REGION", DEFAULT_PHONE_REGION, "a two-letter region such as RU or US"
  )
# When no LLM answers, the best FAQ entry is sent if its match score reaches this: the share (0..1)
# of the question's meaningful words the entry covers, rarer words counting more (docs/content.md).
FAQ_FALLBACK_MIN_SCORE = env.float("FAQ_FALLBACK_MIN_SCORE", 0.5, minimum=0.0)

# --- Groups (README "Using the assistant in groups") ---------------------------------------------
# Allow-list mode: groups the bot joins start as not allowed until staff allow them in the admin.
GROUPS_ALLOWLIST_ONLY = env.bool("GROUPS_ALLOWLIST_ONLY", False)
# Latest group messages (any participant) shown to the LLM as shared context; 0 = none.
GROUP_SHARED_CONTEXT_MESSAGES = env.int("GROUP_SHARED_CONTEXT_MESSAGES", 5, minimum=0)

# --- Content: prompts, FAQ, catalog, scenarios (docs/content.md) --------------------------------
# The human-editable content file, loaded at start and whenever it changes ("none" = admin only).
CONTENT_FILE = env.str("CONTENT_FILE", "content/default.yaml")
# How often (seconds) the bot checks the content file for changes; 0 = before every message.
CONTENT_RELOAD_SECONDS = env.int("CONTENT_RELOAD_SECONDS", 5, minimum=0)
# Where the catalog comes from: db (admin-edited, seeded from the file), file, or url.
CATALOG_SOURCE = env.choice("CATALOG_SOURCE", "db", ["db", "file", "url"])
CATALOG_URL = env.url("CATALOG_URL")  # JSON {"services": [...]}; required by CATALOG_SOURCE=url
if CATALOG_SOURCE == "url" and not CATALOG_URL:
  raise bad_value("CATALOG_URL", "", "an http(s) URL returning JSON, since CATALOG_SOURCE=url")
CATALOG_URL_TTL = env.int("CATALOG_URL_TTL", 300, minimum=0)  # seconds a fetched catalog is kept
CATALOG_URL_TIMEOUT = env.float("CATALOG_URL_TIMEOUT", 5.0, minimum=0.1)  # seconds per fetch

# --- Memory -------------------------------------------------------------------------------------
# Short-term window: the latest messages of the chat, newest kept first, within both limits.
MAX_CONTEXT_MESSAGES = env.int("MAX_CONTEXT_MESSAGES", 10, minimum=0)
MAX_CONTEXT_LENGTH = env.int("MAX_CONTEXT_LENGTH", 4000, minimum=0)
# Long-term memory: full-text hits from the customer's earlier messages, added as background.
LONG_TERM_MEMORY_ENABLED = env.bool("LONG_TERM_MEMORY_ENABLED", True)
MAX_LONG_TERM_RESULTS = env.int("MAX_LONG_TERM_RESULTS", 3, minimum=0)
LONG_TERM_MEMORY_LENGTH = env.int("LONG_TERM_MEMORY_LENGTH", 2000, minimum=0)
# Optional semantic retrieval: provider_model_name of an LLM registry row serving /embeddings.
MEMORY_EMBEDDINGS_MODEL = env.str("MEMORY_EMBEDDINGS_MODEL")

# --- Admin (docs/admin.md) ----------------------------------------------------------------------
ADMIN_SITE_TITLE = env.str("ADMIN_SITE_TITLE", "Consulting assistant")
# Brute-force protection (django-axes): lock an IP address out after this many failed logins...
LOGIN_MAX_ATTEMPTS = env.int("LOGIN_MAX_ATTEMPTS", 5, minimum=1)
# ...for this many minutes.
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
AXES_FAILURE_LIMIT = "assistant.admin_auth.login_failure_limit"  # reads LOGIN_MAX_ATTEMPTS
AXES_COOLOFF_TIME = "assistant.admin_auth.login_cool_off"  # reads LOGIN_LOCKOUT_MINUTES
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "assistant.admin_auth.client_ip"
AXES_LOCKOUT_CALLABLE = "assistant.admin_auth.lockout_response"
# XLSX exports are built in the background into var/exports/; files older than this are removed.
EXPORT_DIR = VAR_DIR / "exports"
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", 7, minimum=1)
# django-import-export: importing needs the model's change permission, exporting its view one.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
# Translators' UI (django-rosetta at /admin/rosetta/), for staff with the translate permission.
ROSETTA_ACCESS_CONTROL_FUNCTION = "assistant.admin_auth.can_translate"
ROSETTA_MESSAGES_SOURCE_LANGUAGE_CODE = "en"
ROSETTA_MESSAGES_SOURCE_LANGUAGE_NAME = "English"
ROSETTA_STORAGE_CLASS = "rosetta.storage.SessionRosettaStorage"
ROSETTA_SHOW_AT_ADMIN_PANEL = False  # our index links it (for translators only)
ROSETTA_EXCLUDED_PATHS = [str(BASE_DIR / ".venv")]

# --- Logging ------------------------------------------------------------------------------------
# Sinks are switched on by configuration; docs/logging.md explains each one.
LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", LEVELS)  # console and file
LOG_FORMAT = env.choice("LOG_FORMAT", "text", ["text", "json"])  # console and file
LOG_FILE = env.str("LOG_FILE")  # empty = no file; relative paths start at the project root
LOG_FILE_ROTATION = env.choice("LOG_FILE_ROTATION", "size", ["size", "time", "external"])
LOG_FILE_MAX_BYTES = env.int("LOG_FILE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
LOG_FILE_WHEN = env.choice("LOG_FILE_WHEN", "midnight", FILE_WHEN)
LOG_FILE_BACKUP_COUNT = env.int("LOG_FILE_BACKUP_COUNT", 14, minimum=0)
LOG_DB_LEVEL = env.choice("LOG_DB_LEVEL", "", LEVELS)  # empty = no database sink
LOG_DB_RETENTION_DAYS = env.int("LOG_DB_RETENTION_DAYS", 30, minimum=1)  # prune_logs default
LOG_HTTP_URL = env.url("LOG_HTTP_URL")  # empty = no HTTP JSON sink
LOG_HTTP_LEVEL = env.choice("LOG_HTTP_LEVEL", "WARNING", LEVELS)
LOG_HTTP_TOKEN = env.str("LOG_HTTP_TOKEN")  # sent as "Authorization: Bearer ..."
LOG_HTTP_QUEUE_SIZE = env.int("LOG_HTTP_QUEUE_SIZE", 1000, minimum=1)
LOG_HTTP_BATCH_SIZE = env.int("LOG_HTTP_BATCH_SIZE", 100, minimum=1)
SENTRY_DSN = env.url("SENTRY_DSN")  # empty = no Sentry
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", "production")
SENTRY_RELEASE = env.str("SENTRY_RELEASE")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", 0.0, minimum=0.0, maximum=1.0)
LOGGING_CONFIG = "assistant.log_config.configure_logging"
LOGGING = build_logging_config(
  LogOptions(
    level=LOG_LEVEL,
    format=LOG_FORMAT,
    file=LOG_FILE,
    file_rotation=LOG_FILE_ROTATION,
    file_max_bytes=LOG_FILE_MAX_BYTES,
    file_when=LOG_FILE_WHEN,
    file_backup_count=LOG_FILE_BACKUP_COUNT,
    db_level=LOG_DB_LEVEL,
    http_url=LOG_HTTP_URL,
    http_level=LOG_HTTP_LEVEL,
    http_token=LOG_HTTP_TOKEN,
    http_queue_size=LOG_HTTP_QUEUE_SIZE,
    http_batch_size=LOG_HTTP_BATCH_SIZE,
  ),
  base_dir=BASE_DIR,
)

# --- Production hardening (applies when DEBUG is off) -------------------------------------------
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = (
  ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", False) else None
)
X_FRAME_OPTIONS = "DENY"
