"""Settings for the campaign tracker, read from the environment through one `env`.

Every value has a safe development default so `make run` works on a fresh machine; production
(`DEBUG` off) refuses to start when a value it needs is missing or unsafe.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from config.env import env, env_or_fail, env_seconds, mailers_from_url, networks_check
from config.schedule import beat_schedule

BASE_DIR = Path(__file__).resolve().parent.parent

environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG: bool = env_or_fail(env.bool, "DEBUG", default=False)
TESTING: bool = env_or_fail(env.bool, "TESTING", default=False)

_DEV_SECRET = "dev-insecure-secret-key-do-not-use-in-production-0123456789abcdef"  # noqa: S105
SECRET_KEY: str = env.str("SECRET_KEY", default=_DEV_SECRET if (DEBUG or TESTING) else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
if not (DEBUG or TESTING) and (
    SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured("SECRET_KEY must be a unique value of 50 or more characters.")

ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if (DEBUG or TESTING) else []
)
if not (DEBUG or TESTING) and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public address of the site, used in emails and feeds sent outside a request.
SITE_URL: str = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # Our admin site asks staff for a TOTP code when ADMIN_REQUIRE_OTP is on (config/admin.py).
    "config.apps.CampaignAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_ratelimit",
    "djmoney",
    "core",
    "audit",
    "ops",
    "campaign",
    "donations",
    "front",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The client's address behind the proxy, for code that has no request (core/client_ip.py).
    "core.client_ip.ClientAddressMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # A database outage answers 503 with a clear page (and makes Stripe retry webhooks), not a 500.
    "config.errors.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "front.middleware.PreferredLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
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
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # Last: per-visitor values become placeholders in cached pages (front/cache.py).
                "front.cache.context_processor",
            ],
        },
    },
]

DATABASES = {
    "default": env_or_fail(env.db, "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env_or_fail(env.int, "CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Fail fast when PostgreSQL is unreachable, so pages answer 503 instead of hanging.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_or_fail(env.int, "DB_CONNECT_TIMEOUT", default=5)
    )
elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite ignores select_for_update: IMMEDIATE takes the write lock when a transaction starts,
    # so two concurrent money changes queue up instead of one reading a stale row (or failing).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if not (DEBUG or TESTING) and not env.str("CACHE_URL", default=""):
    # Rate limits must be shared by every process; without this, `migrate` would stop on
    # django_ratelimit's system check instead, with a less obvious message.
    raise ImproperlyConfigured(
        "CACHE_URL must be set when DEBUG is off: a cache every process shares, such as "
        "rediscache://127.0.0.1:6379/1."
    )
CACHES = {"default": env_or_fail(env.cache, "CACHE_URL", default="locmemcache://campaign")}
if CACHES["default"]["BACKEND"].startswith("django_redis"):
    # A Redis outage must cost a request milliseconds, not hang it (pages then render uncached).
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1}
    )
# Rendered public pages are cached and invalidated on change (front/cache.py). That needs a cache
# every process shares: on by default only when CACHE_URL names one (Redis).
PAGE_CACHE: bool = env_or_fail(env.bool, "PAGE_CACHE", default=bool(env.str("CACHE_URL", "")))

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="America/Toronto")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_or_fail(env.path, "STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if (DEBUG or TESTING)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Money -------------------------------------------------------------------------------
CURRENCIES = ("CAD",)
DEFAULT_CURRENCY = "CAD"
DONATION_MIN_CAD = "2.00"
DONATION_MAX_CAD = "10000.00"
# Stripe's fee for Canadian cards, added on top of a gift when the donor chooses to cover it.
STRIPE_FEE_PERCENT: str = env.str("STRIPE_FEE_PERCENT", default="2.9")
STRIPE_FEE_FIXED_CAD: str = env.str("STRIPE_FEE_FIXED_CAD", default="0.30")
try:
    if not (0 <= Decimal(STRIPE_FEE_PERCENT) < 50 and 0 <= Decimal(STRIPE_FEE_FIXED_CAD) < 100):
        raise InvalidOperation
except InvalidOperation as _fee_error:
    raise ImproperlyConfigured(
        "STRIPE_FEE_PERCENT must be a percentage below 50 (e.g. 2.9) and STRIPE_FEE_FIXED_CAD "
        "an amount in dollars (e.g. 0.30)."
    ) from _fee_error
# --- Payments ----------------------------------------------------------------------------
STRIPE_SECRET_KEY: str = env.str("STRIPE_SECRET_KEY", default="")
# Several secrets separated by commas are all accepted, so a webhook secret can be rotated.
STRIPE_WEBHOOK_SECRETS: list[str] = env.list("STRIPE_WEBHOOK_SECRET", default=[])
STRIPE_API_BASE: str = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_TIMEOUT_SECONDS: float = env_or_fail(env.float, "STRIPE_TIMEOUT_SECONDS", default=10.0)
STRIPE_MAX_NETWORK_RETRIES: int = env_or_fail(env.int, "STRIPE_MAX_NETWORK_RETRIES", default=2)
STRIPE_CHECKOUT_RATE: int = env_or_fail(env.int, "STRIPE_CHECKOUT_RATE", default=20)  # README
PAYMENT_GATEWAY: str = env.str("PAYMENT_GATEWAY", default="stripe" if STRIPE_SECRET_KEY else "demo")
if PAYMENT_GATEWAY not in ("stripe", "demo"):
    raise ImproperlyConfigured("PAYMENT_GATEWAY must be 'stripe' or 'demo'.")
if PAYMENT_GATEWAY == "stripe" and not STRIPE_SECRET_KEY:
    raise ImproperlyConfigured("PAYMENT_GATEWAY=stripe needs STRIPE_SECRET_KEY.")
if PAYMENT_GATEWAY == "stripe" and not STRIPE_WEBHOOK_SECRETS and not (DEBUG or TESTING):
    raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET must be set when taking real payments.")
if (
    not (DEBUG or TESTING)
    and not STRIPE_SECRET_KEY
    and env.str("PAYMENT_GATEWAY", default="") != "demo"
):
    raise ImproperlyConfigured(
        "No STRIPE_SECRET_KEY with DEBUG off: set the Stripe keys, or PAYMENT_GATEWAY=demo to run "
        "the demo gateway (no money moves) on purpose."
    )

# --- Tasks -------------------------------------------------------------------------------
CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default="")
# Without a broker, tasks run in-process: the embedded default of `make run`.
CELERY_TASK_ALWAYS_EAGER: bool = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Stripe's events before anything else queued (receipts, fees, an update's 46,000 emails): see
# config/celery.py's `task_route`.
CELERY_TASK_ROUTES = ("config.celery.task_route",)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
# An unreachable broker must not hold a webhook for long: the event is stored, and the sweep below
# processes it when the enqueue fails.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
# How often beat looks for stored webhook events whose task was lost (and how old one must be).
SWEEP_EVERY_SECONDS: float = env_or_fail(env.float, "SWEEP_EVERY_SECONDS", default=60.0)
# Beat sends a heartbeat this often and a worker records it (ops/): /healthz/deep and the admin
# report the worker or beat as late after three missed beats.
HEARTBEAT_SECONDS: float = env_or_fail(env.float, "HEARTBEAT_SECONDS", default=60.0)
# Celery's own beat (`celery -A config beat`, one process): the periodic tasks, config/schedule.py.
CELERY_BEAT_SCHEDULE = beat_schedule(
    sweep_every=SWEEP_EVERY_SECONDS,
    reconcile_every=env_or_fail(env.float, "RECONCILE_EVERY_SECONDS", default=600.0),
    heartbeat=HEARTBEAT_SECONDS,
)
# Update emails go out in batches of this many, each batch over one mail-server connection.
UPDATE_EMAIL_BATCH_SIZE: int = env_or_fail(env.int, "UPDATE_EMAIL_BATCH_SIZE", default=100)
if UPDATE_EMAIL_BATCH_SIZE < 1:
    raise ImproperlyConfigured("UPDATE_EMAIL_BATCH_SIZE must be 1 or more.")

# --- Email -------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL: str = env.str(
    "DEFAULT_FROM_EMAIL", default="Legal Defense Fund <fund@localhost>"
)
_email_url: str = env.str("EMAIL_URL", default="consolemail://" if (DEBUG or TESTING) else "")
if not _email_url:
    raise ImproperlyConfigured("EMAIL_URL must be set when DEBUG is off (e.g. smtp+tls://...).")
MAILERS = mailers_from_url(_email_url)

# --- Security ----------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT: bool = env_or_fail(
    env.bool, "SECURE_SSL_REDIRECT", default=not (DEBUG or TESTING)
)
SESSION_COOKIE_SECURE = not (DEBUG or TESTING)
CSRF_COOKIE_SECURE = not (DEBUG or TESTING)
SECURE_HSTS_SECONDS = 0 if (DEBUG or TESTING) else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Health checks come from the load balancer over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^healthz/deep$"]
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Content Security Policy (Django's own): scripts only from this site or with the request's nonce
# (`<script nonce="{{ csp_nonce }}">`). Style attributes stay allowed for the progress bar's width.
# Forms may send the member on to Stripe Checkout. Frames are refused except for views decorated
# with `config.security.frame_embeddable` (the widget), which use EMBED_FRAME_ANCESTORS.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "style-src-attr": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF, "https://checkout.stripe.com"],
    "frame-ancestors": [CSP.NONE],
}
EMBED_FRAME_ANCESTORS: list[str] = env.list("EMBED_FRAME_ANCESTORS", default=["*"])

# --- Abuse: card testing and admin logins ------------------------------------------------------
# Starting a donation is limited per IP address and per browser session; asking for update emails
# per IP address and per address asked for, so the form cannot mail strangers ("count/period",
# period in s, m, h or d, e.g. "5/10m"). Counters live in the cache: Redis in production.
DONATION_RATE_LIMIT: str = env.str("DONATION_RATE_LIMIT", default="5/10m")
SUBSCRIBE_RATE_LIMIT: str = env.str("SUBSCRIBE_RATE_LIMIT", default="5/1h")
SUBSCRIBE_ADDRESS_RATE_LIMIT: str = env.str("SUBSCRIBE_ADDRESS_RATE_LIMIT", default="3/1d")
for _name in ("DONATION_RATE_LIMIT", "SUBSCRIBE_RATE_LIMIT", "SUBSCRIBE_ADDRESS_RATE_LIMIT"):
    if not re.fullmatch(r"\d+/\d*[smhd]", globals()[_name]):
        raise ImproperlyConfigured(f"{_name} must look like 5/10m (count/period).")
RATELIMIT_ENABLE: bool = env_or_fail(env.bool, "RATELIMIT_ENABLE", default=True)
MY_GIFTS_LINK_MAX_AGE = env_seconds("MY_GIFTS_LINK_MAX_AGE", default=3600, low=300, high=604800)
# --- The client address behind proxies (core/client_ip.py) --------------------------------------
# How many reverse proxies in front append to X-Forwarded-For (nginx alone: 1; a load balancer in
# front of nginx: 2). 0: no proxy, the connecting address is the client.
TRUSTED_PROXY_COUNT: int = env_or_fail(env.int, "TRUSTED_PROXY_COUNT", default=0)
# The header is only read on connections from these networks (the proxies).
TRUSTED_PROXIES: list[str] = env.list("TRUSTED_PROXIES", default=["127.0.0.0/8", "::1/128"])
TRUSTED_PROXY_HEADER: str = env.str("TRUSTED_PROXY_HEADER", default="X-Forwarded-For")
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
networks_check("TRUSTED_PROXIES", TRUSTED_PROXIES)
if "RATELIMIT_IP_META_KEY" in os.environ:
    raise ImproperlyConfigured(
        "RATELIMIT_IP_META_KEY is no longer read: set TRUSTED_PROXY_COUNT (1 behind nginx) so rate "
        "limits, sign-in lock-outs, logs and the audit log all see the client's address."
    )
RATELIMIT_IP_META_KEY = "core.client_ip.client_ip"
if DEBUG or TESTING:
    # The local-memory cache is fine for one development process; production must share counters.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Admin logins: 5 failures for one name from one address lock that pair for 30 minutes.
# Off by default in tests, whose client logs in without a request; tests of the lock-out turn it on.
AXES_ENABLED: bool = env_or_fail(env.bool, "AXES_ENABLED", default=not TESTING)
AXES_FAILURE_LIMIT: int = env_or_fail(env.int, "AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env_or_fail(env.int, "AXES_COOLOFF_MINUTES", default=30))
# A name is locked from the address that failed, never everywhere: an attacker guessing the
# organizer's password cannot lock the organizer out from another address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# Staff must confirm a TOTP code (django-otp) to use the admin when this is on.
ADMIN_REQUIRE_OTP: bool = env_or_fail(env.bool, "ADMIN_REQUIRE_OTP", default=False)
OTP_TOTP_ISSUER = "Legal defense fund"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Error reporting ---------------------------------------------------------------------
# With SENTRY_DSN set, errors, failed tasks and beat check-ins go to Sentry without donor personal
# data (config/sentry.py). Without it, server errors and failed tasks are mailed to ADMINS.
ADMINS: list[str] = env.list("ADMINS", default=[])
SERVER_EMAIL: str = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
SENTRY_DSN: str = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT: str = env.str("SENTRY_ENVIRONMENT", default="production")
if SENTRY_DSN:
    from config.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT)
elif ADMINS:
    LOGGING["handlers"]["mail_admins"] = {  # type: ignore[index]
        "class": "django.utils.log.AdminEmailHandler",
        "level": "ERROR",
        "filters": ["require_debug_false"],
    }
    LOGGING["filters"] = {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}}
    # Django already mails request errors; this adds tasks that failed for good.
    LOGGING["loggers"] = {"celery.app.trace": {"handlers": ["mail_admins"], "level": "ERROR"}}

if DEBUG or TESTING:
    # Serve static files straight from the app folders: no collectstatic in development or tests.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True

# --- Benchmarks --------------------------------------------------------------------------
# `make bench` (bench/run.py) turns this on: it adds the /bench/floor/ reference page and lifts the
# rate limits so the load generator measures the code, not the limiter. Never set in production.
BENCH: bool = env_or_fail(env.bool, "BENCH", default=False)
if BENCH:
    RATELIMIT_ENABLE = False
