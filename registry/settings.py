"""Settings for the Closures Registry.

One file for every deployment: each difference is read from the environment, and with no
environment at all the registry runs on SQLite with Celery tasks executed in-process.
"""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Application ------------------------------------------------------------------------

DEBUG = env_flag("DJANGO_DEBUG", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "django.contrib.sitemaps",
    "django_countries",
    "django_filters",
    "nested_admin",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "closures",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "registry.middleware.english_admin",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user and the language are known: validators, 304s and the public page cache.
    "closures.caching.PublicCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records which curator made each change in the history tables.
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "registry.middleware.permissions_policy",
    # Last, as django-axes requires: it turns a lockout raised during login into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registry.urls"
WSGI_APPLICATION = "registry.wsgi.application"

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

# --- Database ---------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Security ---------------------------------------------------------------------------

# A known key would let anyone forge sessions and signed links: only development (DEBUG on,
# as the Makefile's targets run) falls back to one; anything else refuses to start.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=true for development on this machine)."
        )
    SECRET_KEY = "insecure-development-key-set-DJANGO_SECRET_KEY"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # Curator accounts can publish: longer than Django's default minimum of 8.
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The https-only protections are switched on by DJANGO_HTTPS=true behind a TLS-terminating
# proxy; left off, `make serve-prod` still works over plain http on loopback.
HTTPS = env_flag("DJANGO_HTTPS", default=False)
if HTTPS:
    # The proxy sets X-Forwarded-Proto; it must strip any value a client sent.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
# Only a statement of consent: the domain still has to be submitted to the preload list.
SECURE_HSTS_PRELOAD = env_flag("DJANGO_HSTS_PRELOAD", default=HTTPS)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# The admin is never framed, and no page needs to be.
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Browser features no page uses; read by registry.middleware.permissions_policy.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)

# No inline script or style anywhere, the admin included; external code is never loaded.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Admin login throttling: after AXES_FAILURE_LIMIT failures for one username from one address
# the login is refused until the cool-off passes or `manage.py axes_reset` is run.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "30")))
# Locking per username and address together stops a stranger locking a curator out everywhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "registry.middleware.client_ip"
AXES_VERBOSE = False

# Request bodies are read into memory up to this size; larger uploads spool to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# An organisation with many events and citations in the nested admin posts thousands of fields.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
DATA_UPLOAD_MAX_NUMBER_FILES = 10

# --- Languages and time -----------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hant", _("Traditional Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Hong_Kong"

# --- Static files -----------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Static files are served by whitenoise from the gunicorn processes. Hashed, compressed files
# need `collectstatic` first, so only a deployment that ran it sets DJANGO_STATIC_MANIFEST.
STATIC_MANIFEST = env_flag("DJANGO_STATIC_MANIFEST", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collected files, serve straight from the apps' static folders.
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = not STATIC_MANIFEST

# --- Cache ------------------------------------------------------------------------------

# One cache shared by every web process (throttling, page caches); per-process without Redis.
CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Seconds a browser or CDN may keep an anonymous public response without asking again: an
# embargo reaches copies kept outside this server only after this long (0: always ask).
PUBLIC_CACHE_MAX_AGE = int(os.environ.get("PUBLIC_CACHE_MAX_AGE", "60"))

# --- Celery -----------------------------------------------------------------------------

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# Without a broker a newcomer still gets working tasks: they run in-process.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
# A task lost with its worker is delivered again; tasks are idempotent so this is safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# On Redis a message whose worker died unacknowledged is delivered again after this long; it
# must exceed the longest task, or a slow task would run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
}
CELERY_TIMEZONE = TIME_ZONE

CELERY_BEAT_SCHEDULE = {
    "check-sources-daily": {"task": "closures.tasks.check_all_sources", "schedule": 24 * 3600},
    "archive-sources-daily": {
        "task": "closures.tasks.archive_missing_sources",
        "schedule": 24 * 3600,
    },
    "release-weekly": {"task": "closures.tasks.build_weekly_release", "schedule": 7 * 24 * 3600},
    "clean-import-uploads": {"task": "closures.tasks.clean_import_uploads", "schedule": 600},
}

# --- API --------------------------------------------------------------------------------

API_ANONYMOUS_RATE = os.environ.get("API_ANONYMOUS_RATE", "120/minute")
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "closures.api_schema.RegistrySchema",
    # Throttle counts live in Django's cache: a shared cache (REDIS_URL) shares them.
    "DEFAULT_THROTTLE_CLASSES": (
        [] if API_ANONYMOUS_RATE == "off" else ["rest_framework.throttling.AnonRateThrottle"]
    ),
    "DEFAULT_THROTTLE_RATES": {"anon": None if API_ANONYMOUS_RATE == "off" else API_ANONYMOUS_RATE},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Hong Kong Civil Society Closures Registry API",
    "VERSION": "1",
    "DESCRIPTION": (BASE_DIR / "closures" / "api_description.md")
    .read_text()
    .replace(
        "{rate_limit}",
        "any number of requests"
        if API_ANONYMOUS_RATE == "off"
        else "{} requests per {}".format(*API_ANONYMOUS_RATE.split("/", 1)),
    ),
    # The API is anonymous and read-only: no security schemes, so no Authorize button.
    "AUTHENTICATION_WHITELIST": [],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DatePrecisionEnum": "closures.dates.DatePrecision",
        "LanguageEnum": "closures.models.Language",
    },
}
# Anyone may read the API from a browser page elsewhere; nothing else is cross-origin.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_EXPOSE_HEADERS = ["Retry-After", "Content-Disposition"]

# --- Curation ---------------------------------------------------------------------------

# Spreadsheet uploads in the admin: a bound on size keeps a stray file from filling memory.
IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("IMPORT_MAX_UPLOAD_BYTES", str(5 * 1024 * 1024)))
IMPORT_ALLOWED_EXTENSIONS = (".csv", ".xlsx")
# Bounds checked while reading, so a decompression bomb is refused before it fills memory.
IMPORT_MAX_UNCOMPRESSED_BYTES = int(
    os.environ.get("IMPORT_MAX_UNCOMPRESSED_BYTES", str(10 * 1024 * 1024))
)
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "5000"))
IMPORT_MAX_COLUMNS = int(os.environ.get("IMPORT_MAX_COLUMNS", "100"))
IMPORT_MAX_CELL_CHARS = int(os.environ.get("IMPORT_MAX_CELL_CHARS", "10000"))
# An upload waiting for confirmation is deleted after this long (and at once on a failed
# preview, a cancel or a confirmation); `manage.py clean_import_uploads` runs from beat.
IMPORT_PREVIEW_MAX_AGE_SECONDS = int(os.environ.get("IMPORT_PREVIEW_MAX_AGE_SECONDS", "3600"))
# Uploaded spreadsheets wait here between preview and confirmation, keyed by a random token.
IMPORT_PREVIEW_DIR = Path(
    os.environ.get("IMPORT_PREVIEW_DIR", BASE_DIR / "var" / "import-previews")
)
# Reverting goes through the reviewer-only service, never simple-history's own revert form.
SIMPLE_HISTORY_REVERT_DISABLED = True

SOURCE_CHECK_TIMEOUT_SECONDS = float(os.environ.get("SOURCE_CHECK_TIMEOUT_SECONDS", "20"))
SOURCE_BROKEN_AFTER_FAILURES = int(os.environ.get("SOURCE_BROKEN_AFTER_FAILURES", "2"))
# Minimum spacing between requests to one host, so a batch of checks is not a flood.
SOURCE_HOST_SPACING_SECONDS = float(os.environ.get("SOURCE_HOST_SPACING_SECONDS", "5"))
SOURCE_USER_AGENT = os.environ.get(
    "SOURCE_USER_AGENT", "HK-Closures-Registry source checker (+https://example.org/registry)"
)
# Internet Archive Save Page Now (SPN2). Nothing is sent unless both keys are set.
SOURCE_ARCHIVE_URL = os.environ.get("SOURCE_ARCHIVE_URL", "https://web.archive.org/save")
SOURCE_ARCHIVE_REPLAY_URL = os.environ.get(
    "SOURCE_ARCHIVE_REPLAY_URL", "https://web.archive.org/web/"
)
SOURCE_ARCHIVE_ACCESS_KEY = os.environ.get("SOURCE_ARCHIVE_ACCESS_KEY", "")
SOURCE_ARCHIVE_SECRET = os.environ.get("SOURCE_ARCHIVE_SECRET", "")
SOURCE_ARCHIVE_POLL_SECONDS = float(os.environ.get("SOURCE_ARCHIVE_POLL_SECONDS", "5"))
SOURCE_ARCHIVE_POLL_ATTEMPTS = int(os.environ.get("SOURCE_ARCHIVE_POLL_ATTEMPTS", "24"))

# --- Public site ------------------------------------------------------------------------

SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
# Release packages are immutable files; keep this directory on durable storage.
RELEASES_DIR = Path(os.environ.get("RELEASES_DIR") or BASE_DIR / "releases")
# Where a redaction moves the file it replaces (never served); unset, the original is deleted.
RELEASES_REDACTED_ORIGINALS_DIR = os.environ.get("RELEASES_REDACTED_ORIGINALS_DIR") or None

# Where the about page asks readers to send corrections; without it the page names no address.
REGISTRY_CORRECTIONS_EMAIL = os.environ.get("REGISTRY_CORRECTIONS_EMAIL", "")

# --- Logging ----------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}

# --- Staff sign-in, proxies and outbound checks (issues 12 and 13) -----------------------

# Every staff account signs in with a password and a TOTP code (registry/admin_site.py).
INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = (
    "registry.admin_apps.RegistryAdminConfig"
)
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "HK Closures Registry")

# Addresses (or networks) of the proxies in front of the app. X-Forwarded-For is believed
# for the login lockout only when the request comes from one of them.
TRUSTED_PROXY_ADDRESSES = env_list("TRUSTED_PROXY_ADDRESSES")
# How many proxies append to X-Forwarded-For before a request reaches the app; DRF's
# throttles take the client address that many entries from the right. 0: served directly.
REST_FRAMEWORK["NUM_PROXIES"] = int(os.environ.get("NUM_PROXIES", "0"))
# The API is read-only and public: no session or password login, so no second door for
# guessing curators' passwords.
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = []

# Besides AXES_FAILURE_LIMIT per username and address, this many failures for one username
# from any number of addresses lock that account until the cool-off passes.
AXES_HANDLER = "registry.login_lockout.AccountAndAddressLockoutHandler"
AXES_ACCOUNT_FAILURE_LIMIT = int(os.environ.get("AXES_ACCOUNT_FAILURE_LIMIT", "20"))

# The source checker refuses loopback, private, link-local and other non-global addresses
# (after DNS and after every redirect) so a cited URL cannot probe the registry's network.
SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = env_flag("SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES")
