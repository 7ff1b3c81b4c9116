"""Settings, read from the environment with safe embedded defaults.

Everything a deployment changes is an environment variable (docs/deployment.md lists them).
Without any, Tuanju runs on SQLite (WAL) under ./var with an embedded task queue.
"""

import os
from pathlib import Path

import dj_database_url

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("TUANJU_VAR_DIR", Path.cwd() / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The embedded default key is only good for a laptop; `check --deploy` flags it in production.
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-tuanju-embedded-default-change-me")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "treebeard",
    "axes",
    "huey.contrib.djhuey",
    "tuanju.core",
    "tuanju.accounts",
    "tuanju.audit",
    "tuanju.hierarchy",
    "tuanju.imports",
    "tuanju.people",
    "tuanju.organizations",
    "tuanju.groups",
    "tuanju.activities",
    "tuanju.mobilize",
    "tuanju.ratings",
    "tuanju.appeals",
    "tuanju.surveys",
    "tuanju.insights",
    "tuanju.demo",
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
    "tuanju.audit.middleware.RequestContextMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tuanju.urls"
WSGI_APPLICATION = "tuanju.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tuanju.core.context_processors.site",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "tuanju.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"), conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers proceed while a writer holds the database; IMMEDIATE avoids
        # upgrade deadlocks between concurrent writers (web + task worker).
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
            " PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    # A file, not :memory:, so a real task worker started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_tuanju.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Caches and background work -------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# One task API (huey). Embedded: a SQLite-backed queue under var/ (no server; `tuanju run_huey`
# consumes it). Production: the same tasks on Redis, consumed by workers on any number of machines.
HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("HUEY_QUEUE_NAME", "tuanju"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "results": True,
        "store_none": False,
        "utc": True,
        "consumer": {"workers": int(os.environ.get("HUEY_WORKERS", "4")), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "tuanju",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "results": True,
        "utc": True,
        "consumer": {"workers": int(os.environ.get("HUEY_WORKERS", "2")), "worker_type": "thread"},
    }

# --- Authentication and security ------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "tuanju.accounts.validators.CharacterClassValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("LOGIN_COOLOFF_HOURS", "0.5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if env_bool("BEHIND_PROXY") else ["REMOTE_ADDR"]
)

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if env_bool("BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Spreadsheet uploads are streamed to disk and bounded by TUANJU["IMPORT_LIMITS"].
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Personal-data encryption keys (base64 of 32 bytes each). Comma-separated; the first encrypts,
# all decrypt, so keys can be rotated. The embedded default is derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
BLIND_INDEX_KEY = os.environ.get("BLIND_INDEX_KEY", "")

# --- Internationalization -------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("COLLECTSTATIC", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Vendored front-end files live in the package's own static/ folder (not an app's).
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tuanju.core.permissions.IsStaffWithUnit"],
    "DEFAULT_PAGINATION_CLASS": "tuanju.core.permissions.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Staff are throttled per account; public (H5) endpoints carry their own per-IP/per-phone
    # limits (groups.ratelimit), sized for a mobilization day rather than a blanket anon rate.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_ANON_RATE", "120/minute"),
        "user": os.environ.get("API_USER_RATE", "12000/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tuanju API",
    "DESCRIPTION": "REST API of Tuanju (团聚). Every endpoint is restricted to the caller's unit subtree.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Tag operations by resource (units, people…) rather than one "v1" bucket.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

# --- Logging --------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "huey": {"level": "WARNING"}},
}

# --- Domain settings ------------------------------------------------------------------
TUANJU = {
    # Roles allowed to see resident IDs and phones unmasked (each view is audit-logged).
    "UNMASK_ROLES": env_list("TUANJU_UNMASK_ROLES", "admin"),
    # A backbone youth not contacted for this many days is flagged on the 1+N page.
    "CONTACT_OVERDUE_DAYS": int(os.environ.get("TUANJU_CONTACT_OVERDUE_DAYS", "30")),
    # Every spreadsheet import is bounded; a file over any limit is refused with a clear message.
    "IMPORT_LIMITS": {
        "max_bytes": int(os.environ.get("TUANJU_IMPORT_MAX_MB", "200")) * 1024 * 1024,
        "max_rows": int(os.environ.get("TUANJU_IMPORT_MAX_ROWS", "1100000")),
        "max_columns": int(os.environ.get("TUANJU_IMPORT_MAX_COLUMNS", "60")),
        "max_uncompressed_bytes": int(os.environ.get("TUANJU_IMPORT_MAX_UNCOMPRESSED_MB", "1500"))
        * 1024
        * 1024,
        "max_compression_ratio": int(os.environ.get("TUANJU_IMPORT_MAX_RATIO", "200")),
    },
    # Where uploaded files and generated reports live (per job).
    "IMPORT_DIR": VAR_DIR / "imports",
}

ADMIN_URL = os.environ.get("ADMIN_URL", "django-admin/")
