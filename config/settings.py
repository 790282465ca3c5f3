"""Settings for the campaign tracker, read from the environment through one `env`.

Every value has a safe development default so `make run` works on a fresh machine; production
(`DEBUG` off) refuses to start when a value it needs is missing or unsafe.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _env_or_fail(reader, name: str, **kwargs):  # type: ignore[no-untyped-def]
    """Read one variable, turning a malformed value into a clear start-up error."""
    try:
        return reader(name, **kwargs)
    except (ValueError, ImproperlyConfigured) as error:
        raise ImproperlyConfigured(f"Environment variable {name} is invalid: {error}") from error


DEBUG: bool = _env_or_fail(env.bool, "DEBUG", default=False)
TESTING: bool = _env_or_fail(env.bool, "TESTING", default=False)

_DEV_SECRET = "dev-insecure-secret-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY: str = env.str("SECRET_KEY", default=_DEV_SECRET if (DEBUG or TESTING) else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
if not (DEBUG or TESTING) and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "djmoney",
    "campaign",
    "donations",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": _env_or_fail(env.db, "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = _env_or_fail(env.int, "CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": _env_or_fail(env.cache, "CACHE_URL", default="locmemcache://campaign")}

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
STATIC_ROOT = BASE_DIR / "staticfiles"
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

# --- Payments ----------------------------------------------------------------------------
STRIPE_SECRET_KEY: str = env.str("STRIPE_SECRET_KEY", default="")
# Several secrets separated by commas are all accepted, so a webhook secret can be rotated.
STRIPE_WEBHOOK_SECRETS: list[str] = env.list("STRIPE_WEBHOOK_SECRET", default=[])
STRIPE_API_BASE: str = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_TIMEOUT_SECONDS: float = _env_or_fail(env.float, "STRIPE_TIMEOUT_SECONDS", default=10.0)
STRIPE_MAX_NETWORK_RETRIES: int = _env_or_fail(env.int, "STRIPE_MAX_NETWORK_RETRIES", default=2)
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
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE

# --- Email -------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="Legal Defense Fund <fund@localhost>")
_email_url: str = env.str("EMAIL_URL", default="consolemail://" if (DEBUG or TESTING) else "")
if not _email_url:
    raise ImproperlyConfigured("EMAIL_URL must be set when DEBUG is off (e.g. smtp+tls://...).")
_email = environ.Env.email_url_config(_email_url)
_BACKENDS_WITHOUT_HOST = ("console", "locmem", "dummy", "filebased")
if any(name in _email["EMAIL_BACKEND"] for name in _BACKENDS_WITHOUT_HOST):
    MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"]}}
else:
    MAILERS = {
        "default": {
            "BACKEND": _email["EMAIL_BACKEND"],
            "OPTIONS": {
                "host": _email.get("EMAIL_HOST") or "localhost",
                "port": _email.get("EMAIL_PORT") or 25,
                "username": _email.get("EMAIL_HOST_USER") or "",
                "password": _email.get("EMAIL_HOST_PASSWORD") or "",
                "use_tls": bool(_email.get("EMAIL_USE_TLS")),
                "use_ssl": bool(_email.get("EMAIL_USE_SSL")),
                "timeout": 15,
            },
        }
    }

# --- Security ----------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT: bool = _env_or_fail(
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
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

if DEBUG or TESTING:
    # Serve static files straight from the app folders: no collectstatic in development or tests.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
