"""Bazgasht settings: one file, driven by environment variables (see .env.example).

With nothing set, Bazgasht runs on SQLite and a file-system Celery broker, so a fresh
clone works without any server. DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF, UNSAFE_INLINE

from config.env import ConfigError, database_from_url, env_bool, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("BAZGASHT_VAR_DIR", str(BASE_DIR / "var")))

# pytest imports itself before Django reads settings; tests need no secret of their own.
TESTING = "pytest" in sys.modules

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ConfigError("SECRET_KEY must be set when DEBUG is off (see .env.example)")
    SECRET_KEY = "insecure-development-key-never-use-in-production-0123456789abcdef"  # noqa: S105 - dev only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The address customers reach: survey links in emails are built from it.
PUBLIC_URL = env_str("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "anymail",
    # django-csp: its system checks of CONTENT_SECURITY_POLICY, and the nonce template tags.
    "csp",
    "surveys",
    "feedback",
    "sentiment",
    "reports",
    "demo",
]

MIDDLEWARE = [
    # First, so every log line and every response carries the request's id (config/logging.py).
    "config.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security.RefuseUnsafeInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.security.SessionExpiryMiddleware",
    "config.security.SecurityHeadersMiddleware",
    # Above XFrameOptionsMiddleware, so it sees that header on the way out (config/security.py).
    "config.security.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'bazgasht.sqlite3'}")),
}
SILENCED_SYSTEM_CHECKS: list[str] = []
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a Celery worker process started by a test sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_bazgasht.sqlite3")}
    # The answers' covering index INCLUDEs the score on PostgreSQL; SQLite just indexes the keys.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fa", "فارسی")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# In development and tests static files are served straight from the source folders.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

LOGIN_URL = "login"
# The largest body a request may carry (Django's default is 2.5 MiB): a bulk call of 1,000 orders
# with 20 lines each, or a store's biggest order webhook, fits. Larger is a 413 saying so
# (config.security.RefuseUnsafeInputMiddleware); the README's nginx allows the same.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Email -------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Bazgasht <surveys@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ConfigError("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
# A mailbox for List-Unsubscribe's mailto link, beside its https one (empty: https only).
UNSUBSCRIBE_MAILTO = env_str("UNSUBSCRIBE_MAILTO").strip()
# django-anymail: EMAIL_BACKEND may be any of its providers (anymail.backends.postmark.EmailBackend...).
# Every ANYMAIL_<NAME> variable becomes its <NAME> setting, e.g. ANYMAIL_POSTMARK_SERVER_TOKEN.
ANYMAIL: dict[str, str] = {
    name.removeprefix("ANYMAIL_"): value for name, value in os.environ.items() if name.startswith("ANYMAIL_") and value
}
# The provider's webhooks (/anymail/<provider>/tracking/) report bounces and complaints
# with "user:password" basic auth. Unset, they accept nobody: an open one would let anyone
# put any address on the suppression list.
ANYMAIL.setdefault("WEBHOOK_SECRET", f"disabled:{secrets.token_urlsafe(32)}")

# --- SMS (see surveys/outreach/sms.py) ------------------------------------------------------
# "console" writes messages to the log (development); "kavenegar" sends them.
SMS_BACKEND = env_str("SMS_BACKEND").strip().lower() or "console"
if SMS_BACKEND not in ("console", "kavenegar"):
    raise ConfigError(f"SMS_BACKEND={SMS_BACKEND!r} is not supported (use console or kavenegar)")
SMS_API_KEY = env_str("SMS_API_KEY")
if SMS_BACKEND == "kavenegar" and not SMS_API_KEY:
    raise ConfigError("SMS_API_KEY must be set when SMS_BACKEND=kavenegar")
SMS_SENDER = env_str("SMS_SENDER")
# The secret part of the URL the SMS provider forwards customers' replies to
# (/sms/kavenegar/<token>/, see README): Kavenegar signs nothing, so the URL is the key.
# Empty: replies are not taken (the URL does not exist).
SMS_INBOUND_TOKEN = env_str("SMS_INBOUND_TOKEN").strip()
SMS_API_BASE = env_str("SMS_API_BASE", "https://api.kavenegar.com/v1")
SMS_TIMEOUT = env_int("SMS_TIMEOUT", 10, minimum=1, maximum=120)

REDIS_URL = env_str("REDIS_URL")

# --- Cache and rate limits ---------------------------------------------------------
# Django's cache: Redis when there is one. (The answer page's rate limits count in Redis
# directly, one round trip a request, see surveys/ratelimit.py; without Redis they use this
# in-process cache, each process counting alone: fine for one machine in development.)
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "bazgasht"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# The answer page, per client address and per survey link: "requests/seconds". Generous
# per address, because mobile carriers put many customers behind one address.
ANSWER_RATE_LIMIT_PER_IP = env_rate("ANSWER_RATE_LIMIT_PER_IP", "300/60")
ANSWER_RATE_LIMIT_PER_TOKEN = env_rate("ANSWER_RATE_LIMIT_PER_TOKEN", "120/600")
# How many reverse proxies in front of Bazgasht append to X-Forwarded-For (0: none, the
# client is REMOTE_ADDR). Only trust as many as there are, or clients could pick their address.
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0, minimum=0, maximum=5)

# --- Celery ------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
else:
    # A broker that needs no server: messages are files under var/broker. One machine only.
    _broker_dir = Path(env_str("CELERY_BROKER_DIR", str(VAR_DIR / ("test-broker" if TESTING else "broker"))))
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    # The host means nothing to this transport; naming one keeps kombu from warning that none was given.
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # Seconds between looks at the folder when it is empty.
        "polling_interval": 0.2,
    }
# Several installations (or a test run beside a dev server) can share one broker.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "bazgasht-test" if TESTING else "bazgasht")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged after it ran, so a worker killed mid-task leaves it for another.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Alert webhooks to addresses inside the server's network (127.0.0.1, 10.x, a .local name ...)
# are refused unless this is on: for a chat server on the operator's own network (feedback/casework/outbound.py).
ALERT_WEBHOOK_PRIVATE_ADDRESSES = env_bool("ALERT_WEBHOOK_PRIVATE_ADDRESSES", False)

# How often the scheduler looks for invitations that are due.
SEND_SWEEP_SECONDS = env_int("SEND_SWEEP_SECONDS", 30, minimum=1, maximum=3600)
# How often the scheduler reads answers whose reading was lost (the broker was away when they
# were sent); an answer is taken as lost once it has waited this long.
ANALYSIS_SWEEP_SECONDS = env_int("ANALYSIS_SWEEP_SECONDS", 300, minimum=1, maximum=3600)
CELERY_BEAT_SCHEDULE = {
    "send-due-invitations": {
        "task": "surveys.tasks.send_due_invitations",
        "schedule": float(SEND_SWEEP_SECONDS),
    },
    # Urgent cases' alerts whose next try has come (or whose task was lost with the broker).
    "send-due-alerts": {
        "task": "feedback.tasks.send_due_alerts",
        "schedule": float(SEND_SWEEP_SECONDS),
    },
    "read-forgotten-answers": {
        "task": "feedback.tasks.read_forgotten_answers",
        "schedule": float(ANALYSIS_SWEEP_SECONDS),
    },
    "start-due-reports": {
        "task": "reports.tasks.start_due_reports",
        "schedule": 15 * 60.0,
    },
    # Each shop's own sentiment model, retrained when enough new scored comments came in.
    "retrain-sentiment-models": {
        "task": "feedback.tasks.retrain_shop_models",
        "schedule": 6 * 3600.0,
    },
    # Each shop's retention: answers and customers older than it keeps them are anonymised.
    "apply-retention": {
        "task": "surveys.tasks.start_retention",
        "schedule": 24 * 3600.0,
    },
}

# --- Security ----------------------------------------------------------------------
# HTTPS defaults on outside development; behind a TLS-terminating proxy also set
# TRUST_PROXY_HTTPS_HEADER so Django knows the original request was HTTPS.
HTTPS = env_bool("HTTPS", not DEBUG and not TESTING)
if env_bool("TRUST_PROXY_HTTPS_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading binds the operator's whole domain, subdomains included, for months: their
# decision to opt into, so the deploy check does not nag about it.
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# A staff session ends this long after signing in, and after SESSION_IDLE_SECONDS without a
# request, whichever comes first (config.security.SessionExpiryMiddleware).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 3600, minimum=60)
X_FRAME_OPTIONS = "DENY"

# Staff sign-in: a username/password check that locks out after repeated failures, for the work
# list and the admin alike (both sign in at /login/; TOTP two-factor is asked there when on).
AUTHENTICATION_BACKENDS = ["feedback.accounts.signin.LockoutBackend"]
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=3, maximum=100)
LOGIN_FAILURES_PER_IP = env_int("LOGIN_FAILURES_PER_IP", 20, minimum=3, maximum=1000)
LOGIN_LOCKOUT_WINDOW = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=24 * 60))

# Content-Security-Policy, sent by django-csp (config.security.CSPMiddleware): no inline or
# third-party script at all. Styles may be inline: the answer page's brand colours and a few
# style attributes (a scale's width, a chart's size) are rendered per shop; CSS cannot run code,
# so this is the cheap part of the policy to relax. frame-ancestors is 'self' instead of 'none'
# for a view that may be framed by our own pages (@xframe_options_sameorigin: the admin's preview).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        # data: for the work list's empty favicon and the API docs' icons.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        # Where browsers POST violation reports, if you collect them (empty: not reported).
        "report-uri": env_str("CSP_REPORT_URI") or None,
    },
}

# --- Operations: logs, health checks, metrics ----------------------------------------
# "json": one JSON object a line (time, level, logger, message, request_id, task_name, task_id)
# for a log shipper; "plain" for a terminal. config/logging.py.
LOG_FORMAT = env_str("LOG_FORMAT", "plain").strip().lower() or "plain"
if LOG_FORMAT not in ("plain", "json"):
    raise ConfigError(f"LOG_FORMAT={LOG_FORMAT!r} is not supported (use plain or json)")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logging.ContextFilter"}, "redact": {"()": "config.logging.RedactFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context", "redact"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (with DEBUG) would print its lines a second time, unformatted.
        "django": {"handlers": [], "level": "INFO"},
        # WeasyPrint's font subsetting logs every table at INFO, and its layout every page.
        "fontTools": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
    },
}
# In JSON mode a Celery worker logs through the handler above too, instead of its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it does not exist (404).
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Load balancers probe over plain HTTP on the private network: no redirect to HTTPS for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
