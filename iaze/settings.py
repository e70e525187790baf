"""IAZE settings: one module, three database profiles chosen by the environment.

- embedded SQLite (default): DATA_DIR/iaze.sqlite3
- PostgreSQL (or any SQL database): DATABASE_URL
- MongoDB: MONGO_URL (+ MONGO_DB_NAME), through django-mongodb-backend
"""

import contextlib
import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from iaze.lib.files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, private_dir

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env("DATA_DIR", default=str(BASE_DIR / "data"))).resolve()
# Its owner only, whoever made it first (an existing 0755 one of ours is tightened): iaze.lib.files.
private_dir(DATA_DIR)


def _secret_key() -> str:
    """The env wins; otherwise one key generated once and kept under DATA_DIR.

    Keeping it on disk means a restart does not log every agent out. Several gunicorn
    workers may start at once on a fresh DATA_DIR: the key is published with an atomic
    link, so exactly one generated key wins and every process reads that one.
    """
    key = env("SECRET_KEY", default="")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        tmp = DATA_DIR / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        tmp.write_text(secrets.token_urlsafe(50))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process published its key first: use that one
        finally:
            tmp.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- database profile -------------------------------------------------------
MONGO_URL = env("MONGO_URL", default="")
MONGO_DB_NAME = env("MONGO_DB_NAME", default="support_chat")
_DATABASE_URL = env("DATABASE_URL", default="")
if MONGO_URL and _DATABASE_URL:
    raise ImproperlyConfigured(
        "Both MONGO_URL and DATABASE_URL are set: choose one database profile "
        "(MONGO_URL for MongoDB, DATABASE_URL for PostgreSQL/SQL, neither for embedded SQLite)."
    )

# Under ASGI (iaze/asgi.py says so) every request's sync code runs in a new thread: a persistent SQL
# connection would stay behind with it, unclosed. Connections are then per request (CONN_MAX_AGE 0).
_PER_REQUEST_CONNECTIONS = os.environ.get("IAZE_SERVED_BY") == "asgi"

if MONGO_URL:
    DB_PROFILE = "mongodb"
    DATABASES = {
        "default": {
            "ENGINE": "django_mongodb_backend",
            "HOST": MONGO_URL,
            "NAME": MONGO_DB_NAME,
            # An event we answered 200 for must survive a primary failover.
            "OPTIONS": {"w": "majority", "journal": True, "retryWrites": True},
        }
    }
elif _DATABASE_URL:
    DB_PROFILE = "postgresql" if _DATABASE_URL.startswith(("postgres", "pgsql")) else "sql"
    DATABASES = {"default": env.db_url_config(_DATABASE_URL)}
    DATABASES["default"].setdefault("CONN_MAX_AGE", 0 if _PER_REQUEST_CONNECTIONS else 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DB_PROFILE = "sqlite"
    # The database file (and the -wal/-shm files SQLite creates with its mode) readable by the owner only.
    _SQLITE = DATA_DIR / "iaze.sqlite3"
    os.close(os.open(_SQLITE, os.O_WRONLY | os.O_CREAT, 0o600))  # an empty file is an empty SQLite database
    with contextlib.suppress(OSError):
        _SQLITE.chmod(0o600)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "iaze.sqlite3",
            "OPTIONS": {
                # WAL lets several gunicorn workers read while one writes;
                # synchronous=FULL so a power cut cannot lose an event we acknowledged.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            # Persistent per-worker connections: opening one (and its PRAGMAs) per request
            # costs more than most of IAZE's queries.
            "CONN_MAX_AGE": 0 if _PER_REQUEST_CONNECTIONS else env.int("CONN_MAX_AGE", default=600),
            "CONN_HEALTH_CHECKS": True,
        }
    }

# --- applications -------------------------------------------------------------
if DB_PROFILE == "mongodb":
    DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
    _CONTRIB = [
        "iaze.apps.MongoAdminConfig",
        "iaze.apps.MongoAuthConfig",
        "iaze.apps.MongoContentTypesConfig",
    ]
    MIGRATION_MODULES = {
        "admin": "mongo_migrations.admin",
        "auth": "mongo_migrations.auth",
        "contenttypes": "mongo_migrations.contenttypes",
    }
else:
    DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
    _CONTRIB = ["iaze.apps.IazeAdminConfig", "django.contrib.auth", "django.contrib.contenttypes"]

INSTALLED_APPS = [
    *_CONTRIB,
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "accounts",
    "tickets",
    "whatsapp",
    "reports",
    "contacts",
    "ops",
    "rest_framework",
    "drf_spectacular",
    "api",
    "webhooks",
]
if DB_PROFILE == "mongodb":
    INSTALLED_APPS.append("django_mongodb_backend")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "iaze.lib.csp.ContentSecurityPolicyMiddleware",
    # Before anything reads a body (CSRF reads request.POST): a body over its route's cap is refused with
    # 413 unread. REQUEST_MAX_BYTES and REQUEST_BODY_CAPS below; iaze.lib.request_size.
    "iaze.lib.request_size.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Pages of a logged-in user: `private, no-cache`; CSV and ZIP exports: `private, no-store`.
    "iaze.lib.cache_control.PrivateCacheControlMiddleware",
]

ROOT_URLCONF = "iaze.urls"
WSGI_APPLICATION = "iaze.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.TenantAwareBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/tickets/"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.branding",
                "whatsapp.context_processors.connection_alerts",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- i18n: pt-BR first, English too ----------------------------------------------
LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", "Português (Brasil)"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="America/Sao_Paulo")
USE_I18N = True
USE_TZ = True

# --- static files (whitenoise, no CDN) -----------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = DATA_DIR / "media"
# Photos, voice notes, videos and documents (iaze.lib.blobs): kept for good, never served by URL but through
# the authorised view. DATA_DIR/media by default; an S3-compatible bucket when MEDIA_S3_BUCKET is set
# (installations with more than one app server). What an operator must keep: docs/media.md.
MEDIA_S3_BUCKET = env("MEDIA_S3_BUCKET", default="")
if MEDIA_S3_BUCKET:
    _MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env("MEDIA_S3_ENDPOINT_URL", default="") or None,
            "region_name": env("MEDIA_S3_REGION", default="") or None,
            "access_key": env("MEDIA_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env("MEDIA_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env("MEDIA_S3_PREFIX", default="iaze-media"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _MEDIA_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": "/no-public-media-url/"},
    }
    private_dir(MEDIA_ROOT)
# Files stored on disk (media, webhook bodies kept as files) are 0600 in 0700 folders, whatever the umask;
# static files are public by nature and keep 0644/0755 (a proxy, or another user in the image, reads them).
FILE_UPLOAD_PERMISSIONS = PRIVATE_FILE_MODE
FILE_UPLOAD_DIRECTORY_PERMISSIONS = PRIVATE_DIR_MODE
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage",
        "OPTIONS": {"file_permissions_mode": 0o644, "directory_permissions_mode": 0o755},
    },
    "media": _MEDIA_STORAGE,
}
# Largest file downloaded from a provider (or attached by an agent); larger ones are marked failed.
MEDIA_MAX_BYTES = env.int("MEDIA_MAX_BYTES", default=100 * 1024 * 1024)
# Attempts of a download (with backoff) before it is shown as unavailable.
MEDIA_DOWNLOAD_MAX_ATTEMPTS = env.int("MEDIA_DOWNLOAD_MAX_ATTEMPTS", default=6)
# Largest image (width × height) ever decoded, for a thumbnail or to tell that it is an image: a larger
# one is kept as a document, never decoded (a 300 KB PNG can hold 20,000 × 20,000 pixels). iaze.lib.images.
MEDIA_MAX_IMAGE_PIXELS = env.int("MEDIA_MAX_IMAGE_PIXELS", default=40_000_000)

# --- request bodies (iaze.lib.request_size; docs/operations.md#request-sizes) --------------------------
# The largest body of a route that takes no files: the login, every form, the admin. Refused with 413
# before it is read, whether its length is declared or it comes chunked.
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=1024 * 1024)
# Routes that take an attached file: the largest file (MEDIA_MAX_BYTES) plus the form around it.
REQUEST_MAX_UPLOAD_BYTES = env.int("REQUEST_MAX_UPLOAD_BYTES", default=MEDIA_MAX_BYTES + 1024 * 1024)
# A route's cap other than REQUEST_MAX_BYTES, by URL name: the name of the setting that holds it, or None
# for a view that reads and caps its own body (the webhook: WHATSAPP_WEBHOOK_MAX_BYTES, answered as before).
REQUEST_BODY_CAPS: dict[str, str | None] = {
    "tickets:reply": "REQUEST_MAX_UPLOAD_BYTES",
    # A contacts CSV (its own 8 MB limit, contacts.csvfile, answers 400 with the reason below this one).
    "contacts:import": "REQUEST_MAX_UPLOAD_BYTES",
    "whatsapp:webhook": None,
}
# Django's own limits within a body: the form fields other than files (the largest is a 50,000-character
# note), how many fields and files, and the size up to which an uploaded file stays in memory rather
# than in a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=REQUEST_MAX_BYTES)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=1000)
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=10)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

# --- live updates (GET /eventos/, tickets.web.events; docs/workspace.md#live-updates) --------------
# How often each app process reads the change record for its open streams (seconds): an event reaches
# a page within this plus the request's own time.
LIVE_POLL_SECONDS = env.float("LIVE_POLL_SECONDS", default=0.5)
# PostgreSQL (LISTEN/NOTIFY) and a MongoDB replica set (change streams) wake the reader for each change
# (iaze.lib.live_signal); it then reads the record at once, and otherwise only every LIVE_SAFETY_POLL_SECONDS
# (a signal lost to a dropped connection costs latency, never an event). LIVE_SIGNAL=false: always poll.
LIVE_SIGNAL = env.bool("LIVE_SIGNAL", default=True)
LIVE_SAFETY_POLL_SECONDS = env.float("LIVE_SAFETY_POLL_SECONDS", default=5.0)
# Changes buffered per stream before a stream that does not read is dropped (its page reconnects).
LIVE_STREAM_BUFFER = env.int("LIVE_STREAM_BUFFER", default=500)
# Seconds between a stream's checks that its user is still active and logged in (and a keep-alive).
LIVE_RECHECK_SECONDS = env.float("LIVE_RECHECK_SECONDS", default=5.0)

# --- security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# HTTPS=true (served over TLS, directly or behind a proxy with BEHIND_PROXY=true) turns on secure
# cookies and the HTTP→HTTPS redirect; each can still be set on its own. HSTS stays opt-in
# (SECURE_HSTS_SECONDS) because browsers remember it: `check --deploy` wants it set in production.
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG and HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Login throttling (accounts.throttle): password checks per (IP, e-mail), per e-mail from any IP and per
# IP, reserved in the database before each check (exact under parallel requests, shared by every worker
# and machine); a lock lasts WINDOW seconds after the last failure.
LOGIN_THROTTLE_FAILURES = env.int("LOGIN_THROTTLE_FAILURES", default=5)
LOGIN_THROTTLE_ACCOUNT_FAILURES = env.int("LOGIN_THROTTLE_ACCOUNT_FAILURES", default=10)
LOGIN_THROTTLE_IP_FAILURES = env.int("LOGIN_THROTTLE_IP_FAILURES", default=30)
LOGIN_THROTTLE_WINDOW = env.int("LOGIN_THROTTLE_WINDOW", default=15 * 60)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # The API's per-token rate limit (api.throttling): a file cache every worker process of this machine
    # shares. Login limits are not kept here but in the database (accounts.throttle), exact across machines.
    "throttle": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache" / "throttle"),
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    },
}

# --- REST API (/api/v1/, the api app; docs/api.md) -----------------------------------------
# Requests per token; past it 429 with Retry-After. Counted in the `throttle` file cache above (per machine).
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "UNICODE_JSON": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IAZE API",
    "DESCRIPTION": "Atendimentos, mensagens e notas do IAZE. Autenticação: Authorization: Bearer <token>.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"TicketStatusEnum": "tickets.models.UIState"},
}

# --- WhatsApp ---------------------------------------------------------------------------
# Webhook bodies up to this size are accepted (Evolution with base64 media sends tens of MB); 413 above.
WHATSAPP_WEBHOOK_MAX_BYTES = env.int("WHATSAPP_WEBHOOK_MAX_BYTES", default=64 * 1024 * 1024)
# A body above this size is streamed to disk and journaled by reference (path + SHA-256), not in the row.
WHATSAPP_WEBHOOK_INLINE_BODY_BYTES = env.int("WHATSAPP_WEBHOOK_INLINE_BODY_BYTES", default=1024 * 1024)
# The total deadline of one provider call (connect, headers and body together), in seconds.
WHATSAPP_HTTP_TIMEOUT = env.float("WHATSAPP_HTTP_TIMEOUT", default=15.0)
# A provider's JSON answer may take this many bytes once decompressed; past it the call is refused
# (a small gzip answer must not inflate into the worker's memory). Files have MEDIA_MAX_BYTES.
WHATSAPP_ANSWER_MAX_BYTES = env.int("WHATSAPP_ANSWER_MAX_BYTES", default=8 * 1024 * 1024)
# Replies are tried once right after they are stored; send_outbox is the safety net.
WHATSAPP_SEND_INLINE = env.bool("WHATSAPP_SEND_INLINE", default=True)
# A web request never waits on a provider longer than this: a slower send is left to the worker.
WHATSAPP_INLINE_SEND_BUDGET = env.float("WHATSAPP_INLINE_SEND_BUDGET", default=2.0)
# A provider call made by an admin page (the QR pairing page, "sync templates") waits at most this long, so a
# hanging gateway never holds the web workers (and /healthz) for the full WHATSAPP_HTTP_TIMEOUT.
WHATSAPP_ADMIN_CALL_SECONDS = env.float("WHATSAPP_ADMIN_CALL_SECONDS", default=3.0)
# The address providers reach this installation at (webhook URLs registered by "Conectar WhatsApp");
# unset: the address the admin page is reached on.
IAZE_PUBLIC_URL = env("IAZE_PUBLIC_URL", default="")
# send_outbox: calls in flight at once, and at most this many per connection (one slow tenant
# never holds every sender).
WHATSAPP_OUTBOX_WORKERS = env.int("WHATSAPP_OUTBOX_WORKERS", default=4)
WHATSAPP_OUTBOX_PER_CONNECTION = env.int("WHATSAPP_OUTBOX_PER_CONNECTION", default=2)
# ...and at most this many for one tenant (reseller), whatever its number of connections: a tenant whose
# provider hangs holds only its share. 0: half of WHATSAPP_OUTBOX_WORKERS (at least 1).
WHATSAPP_OUTBOX_PER_TENANT = env.int("WHATSAPP_OUTBOX_PER_TENANT", default=0)
# The worker's other queues (media downloads, gap recoveries): threads each, and at most this many of
# them for one connection (a slow file server or gateway holds only its own tenant's share).
WHATSAPP_JOB_WORKERS = env.int("WHATSAPP_JOB_WORKERS", default=4)
WHATSAPP_JOB_PER_CONNECTION = env.int("WHATSAPP_JOB_PER_CONNECTION", default=1)
# ...and at most this many for one tenant (reseller). 0: half of WHATSAPP_JOB_WORKERS (at least 1).
WHATSAPP_JOB_PER_TENANT = env.int("WHATSAPP_JOB_PER_TENANT", default=0)
# After SIGTERM, `send_outbox --loop` waits at most this long for the calls in flight (each keeps its own
# deadline), then exits: a job still waiting on a provider keeps its lease, which hands it to the next worker.
# At most 15 s by default, so the worker ends by itself before `make run`'s 18 s SIGKILL backstop (the
# contract's stop is within 20 s).
WHATSAPP_WORKER_STOP_SECONDS = env.float("WHATSAPP_WORKER_STOP_SECONDS", default=min(WHATSAPP_HTTP_TIMEOUT, 15.0))
# IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS=1: a connection's API base may point at a loopback or private
# address (a local fake provider in development and tests). Otherwise such bases are refused when
# saved and when used. A base with a query string, a fragment or user-info is always refused.
ALLOW_PRIVATE_PROVIDER_HOSTS = env.bool("IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS", default=False)
# Outgoing webhooks (webhooks.delivery): a receiver has this long to answer (the whole answer, not per read);
# the worker's threads for deliveries, at most WEBHOOK_PER_WEBHOOK of them for one receiver; a webhook whose
# deliveries failed for WEBHOOK_PAUSE_AFTER_HOURS with none succeeding is paused (its events are kept).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_WORKERS = env.int("WEBHOOK_WORKERS", default=4)
WEBHOOK_PER_WEBHOOK = env.int("WEBHOOK_PER_WEBHOOK", default=2)
WEBHOOK_PAUSE_AFTER_HOURS = env.float("WEBHOOK_PAUSE_AFTER_HOURS", default=72.0)
META_GRAPH_BASE_URL = env("META_GRAPH_BASE_URL", default="https://graph.facebook.com/v21.0")
# Connection health and gap recovery (docs/whatsapp.md#connection-health).
# A connection that used to receive webhooks and has been silent this long gets a warning.
WHATSAPP_SILENCE_WARNING_MINUTES = env.int("WHATSAPP_SILENCE_WARNING_MINUTES", default=360)
# Recovery asks for messages since the last stored one minus this margin (clocks and late stores).
WHATSAPP_RECOVERY_OVERLAP_SECONDS = env.int("WHATSAPP_RECOVERY_OVERLAP_SECONDS", default=300)
# ...but never further back than this, however old the last stored message is.
WHATSAPP_RECOVERY_MAX_LOOKBACK_HOURS = env.int("WHATSAPP_RECOVERY_MAX_LOOKBACK_HOURS", default=72)
# findMessages paging: records per page and the most pages one run reads (a gateway that never ends).
WHATSAPP_RECOVERY_PAGE_SIZE = env.int("WHATSAPP_RECOVERY_PAGE_SIZE", default=100)
WHATSAPP_RECOVERY_MAX_PAGES = env.int("WHATSAPP_RECOVERY_MAX_PAGES", default=50)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
