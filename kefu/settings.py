"""Settings. Embedded defaults need no outside service; KEFU_* variables switch parts."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

from kefu.celery import intake_poll_seconds

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("KEFU_DATA_DIR", Path.cwd() / "var")).resolve()
DATABASE_URL = os.environ.get("KEFU_DATABASE_URL", "")
REDIS_URL = os.environ.get("KEFU_REDIS_URL", "")
TESTING = "pytest" in sys.modules or os.environ.get("KEFU_TESTING") == "1"

DEBUG = os.environ.get("KEFU_DEBUG", "0") == "1"


def _embedded_secret_key(data_dir: Path) -> str:
    """A key made once for this installation and kept in its data directory.

    Never a constant: sessions and the widget's buyer cookie are signed with it, and a key
    anyone can read in the source lets anyone sign themselves in as any buyer. Web, worker
    and beat read the same file; the first to start writes it (exclusively, owner-only).
    """
    path = data_dir / "secret-key"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


# Production sets KEFU_SECRET_KEY (`kefu run` refuses a public address without it).
SECRET_KEY_CONFIGURED = bool(os.environ.get("KEFU_SECRET_KEY"))
SECRET_KEY = os.environ.get("KEFU_SECRET_KEY") or _embedded_secret_key(DATA_DIR)
ALLOWED_HOSTS = os.environ.get("KEFU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("KEFU_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    # Only for its local copy of Swagger UI (/api/v1/docs works offline and under the CSP).
    "ninja",
    "kefu.core",
    "kefu.accounts",
    "kefu.catalog",
    "kefu.conversations",
    "kefu.integrations",
    "kefu.orders",
    "kefu.automation",
    "kefu.compliance",
    "kefu.care",
    "kefu.outreach",
    "kefu.metrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kefu.core.middleware.ContentSecurityPolicyMiddleware",
    "kefu.core.middleware.RequestIdMiddleware",
    "kefu.core.middleware.UnavailableMiddleware",
    "kefu.core.controls.ControlCharacterMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kefu.core.middleware.UserLanguageMiddleware",
    "kefu.core.middleware.RequestSizeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kefu.core.middleware.ShopTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "kefu.urls"
ASGI_APPLICATION = "kefu.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
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
                "kefu.core.context.workbench",
            ],
        },
    }
]


def _database() -> dict[str, Any]:
    if DATABASE_URL:
        # Under ASGI every request runs in its own thread: persistent connections pile up and
        # exhaust PostgreSQL (measured by bench_intake), so each request closes its own.
        parsed = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
        db: dict[str, Any] = dict(parsed)
        db["TEST"] = {"NAME": os.environ.get("KEFU_TEST_DATABASE_NAME", "test_kefu")}
        return db
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "kefu.core.db.sqlite",
        "NAME": DATA_DIR / "kefu.sqlite3",
        # Web, worker and beat write one file: take the write lock up front and wait for it.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        "TEST": {"NAME": DATA_DIR / "test-kefu.sqlite3"},
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's layer with one reader of a web process's sockets' key instead of
            # every socket taking turns at it (decisions §111).
            "BACKEND": "kefu.conversations.layer.ProcessReaderChannelLayer",
            # channels_redis blocks up to 5 s reading a channel; redis-py's own default socket
            # timeout is also 5 s, so a busy server dropped sockets. Give reads more room.
            "CONFIG": {
                "hosts": [
                    {"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 5}
                ],
                "prefix": "kefu",
                # channels_redis drops a push once a process's queue holds `capacity` of them
                # (default 100, logged at INFO only): at 20 buyer messages a second the queue
                # outgrew it and agents missed messages live (decisions §23).
                "capacity": int(os.environ.get("KEFU_CHANNEL_CAPACITY", "5000")),
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = f"sqla+sqlite:///{DATA_DIR / 'celery-broker.sqlite3'}"

CELERY_TASK_ALWAYS_EAGER = TESTING
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; tests create many users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
]
# Password logins go through the lockout (decisions §26); API tokens do not.
AUTHENTICATION_BACKENDS = ["kefu.accounts.lockout.LockoutModelBackend"]
KEFU_LOGIN_ACCOUNT_FAILURES = int(os.environ.get("KEFU_LOGIN_ACCOUNT_FAILURES", "10"))
KEFU_LOGIN_IP_FAILURES = int(os.environ.get("KEFU_LOGIN_IP_FAILURES", "50"))
KEFU_LOGIN_COOLOFF_SECONDS = int(os.environ.get("KEFU_LOGIN_COOLOFF_SECONDS", "900"))
# Tests log in wrongly on purpose in many places; the lockout tests switch it on.
KEFU_LOGIN_LOCKOUT = not TESTING or os.environ.get("KEFU_LOCKOUT_IN_TESTS") == "1"

# Only these peers may say who the client is (X-Forwarded-For, X-Real-IP): IPs or CIDRs,
# comma-separated. Empty: the connecting address is the client (kefu.core.clientip).
KEFU_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("KEFU_TRUSTED_PROXIES", "").split(",") if p.strip()
]

# Rate-limit counters and lockouts (kefu.core.ratelimit) live in the cache. Only web processes
# count, so the embedded mode's single web process may keep them in its own memory; several web
# processes need Redis, which `kefu run --web-processes` already requires (decisions §26).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kefu-cache",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Served over HTTPS (docs/security.md): cookies only over TLS, HSTS, and the proxy's
# X-Forwarded-Proto believed. Off by default: `make serve` is plain HTTP on 127.0.0.1.
HTTPS = os.environ.get("KEFU_HTTPS") == "1"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("KEFU_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("KEFU_HSTS_INCLUDE_SUBDOMAINS") == "1"
if HTTPS:
    # Only correct behind a proxy that sets this header itself, replacing what a client sent.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = os.environ.get("KEFU_SSL_REDIRECT", "1") == "1"
    # The health check is probed over plain HTTP by supervisors and load balancers.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
KEFU_CONTENT_SECURITY_POLICY = os.environ.get(
    "KEFU_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self' ws: wss:; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"kv": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "kv"}},
    "loggers": {
        "kefu": {"handlers": ["console"], "level": os.environ.get("KEFU_LOG_LEVEL", "INFO")},
        # Its only message at INFO is a push dropped over capacity: keep it visible.
        "channels_redis": {"handlers": ["console"], "level": "INFO"},
    },
}

# Product limits.
KEFU_MAX_MESSAGE_CHARS = 10_000
KEFU_MAX_INBOUND_BODY_BYTES = 64 * 1024
# The batch message webhook (decisions §42): messages per signed request and its body size
# (under Django's 2.5 MB DATA_UPLOAD_MAX_MEMORY_SIZE).
KEFU_INTAKE_BATCH_MAX = int(os.environ.get("KEFU_INTAKE_BATCH_MAX", "500"))
KEFU_INTAKE_BATCH_MAX_BYTES = 2 * 1024 * 1024
# How long one intake worker transaction may run (0: 0.05 s on SQLite, 0.3 s on PostgreSQL):
# its wall time on SQLite, the worker's own CPU time on PostgreSQL (decisions §95).
KEFU_INTAKE_BATCH_SECONDS = float(os.environ.get("KEFU_INTAKE_BATCH_SECONDS", "0"))
# A file prefix: the intake worker and the web process write per-stage timestamps of the
# messages they push there (kefu.core.stagetrace; the push bench sets it). Off when empty.
KEFU_PUSH_TRACE = os.environ.get("KEFU_PUSH_TRACE", "")
# Above 0: the intake worker polls the queue table this often when it is empty, and the web
# processes send it no Celery kick (decisions §62). The default on SQLite, where a kick is a
# write to the broker's own SQLite file; 0 (kicks through Redis) on PostgreSQL. Read by
# kefu.celery, whose beat schedule is built before Django is set up.
KEFU_INTAKE_POLL_SECONDS = intake_poll_seconds()
# A signed webhook is accepted this long either side of its X-Kefu-Timestamp (decisions §25).
KEFU_WEBHOOK_MAX_AGE_SECONDS = int(os.environ.get("KEFU_WEBHOOK_MAX_AGE_SECONDS", "300"))
# The signed webhooks keep each shop's secret and limits per process (decisions §60): dropped
# at once when any shop changes (a stamp), and at the latest after this many seconds.
KEFU_SHOP_CACHE_SECONDS = float(os.environ.get("KEFU_SHOP_CACHE_SECONDS", "60"))
KEFU_SHOP_CACHE_SIZE = 10_000
KEFU_PRESENCE_GRACE_SECONDS = int(os.environ.get("KEFU_PRESENCE_GRACE_SECONDS", "90"))
# New chats go only to agents with an open inbox whose last ping is this recent (pings come
# every 25 s); a closed browser stops new chats at once, its open ones move after the grace.
KEFU_ROUTING_GRACE_SECONDS = int(os.environ.get("KEFU_ROUTING_GRACE_SECONDS", "60"))
KEFU_RELAY_POLL_SECONDS = 0.25
KEFU_OUTBOX_MAX_ATTEMPTS = 8

# Import limits (issue 10 item 3; docs/guide/imports.md): a file over any of them is refused
# as a whole before a row is stored; a cell over the cell limit rejects its row.
KEFU_IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("KEFU_IMPORT_MAX_UPLOAD_BYTES", 50 * 2**20))
KEFU_IMPORT_MAX_UNZIPPED_BYTES = int(os.environ.get("KEFU_IMPORT_MAX_UNZIPPED_BYTES", 200 * 2**20))
KEFU_IMPORT_MAX_ZIP_RATIO = int(os.environ.get("KEFU_IMPORT_MAX_ZIP_RATIO", "100"))
KEFU_IMPORT_MAX_ROWS = int(os.environ.get("KEFU_IMPORT_MAX_ROWS", "200000"))
KEFU_IMPORT_MAX_COLUMNS = int(os.environ.get("KEFU_IMPORT_MAX_COLUMNS", "500"))
KEFU_IMPORT_MAX_CELL_CHARS = int(os.environ.get("KEFU_IMPORT_MAX_CELL_CHARS", "10000"))
# An import silent this long lost its worker: it resumes from its upload once, then fails.
KEFU_IMPORT_STALE_SECONDS = int(os.environ.get("KEFU_IMPORT_STALE_SECONDS", "600"))
# Order imports run on their own Celery queue, served by a worker of their own (decisions §27).
CELERY_TASK_ROUTES = {
    "orders.run_import": {"queue": "imports"},
    # Buyer messages have workers of their own (decisions §42): a burst of intake never
    # waits behind outbox deliveries or sweeps, and those never wait behind intake.
    "intake.drain": {"queue": "intake"},
}

# Images the shop sends (keyword replies, agents' attachments): the upload limit, and the
# address buyers' channels fetch them from (/media/m/<token>.<ext> is appended).
KEFU_MAX_IMAGE_BYTES = int(os.environ.get("KEFU_MAX_IMAGE_BYTES", str(5 * 1024 * 1024)))
KEFU_PUBLIC_URL = os.environ.get("KEFU_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
