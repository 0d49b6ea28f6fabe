"""Ferry settings, read from the environment (see README: Environment).

The embedded default (no DATABASE_URL, no REDIS_URL) is a SQLite file and an in-memory channel
layer: enough for the demo and the tests. Production sets PostgreSQL and Redis.
"""
import json
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

import config

BASE_DIR = Path(__file__).resolve().parent.parent
# var/ holds the keys of a demo, the SQLite file and runtime files: only Ferry's user may read it.
VAR_DIR = Path(os.environ.get("FERRY_VAR_DIR", BASE_DIR / "var"))
try:
    VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    VAR_DIR.chmod(0o700)
except OSError as exc:
    raise ImproperlyConfigured(f"FERRY_VAR_DIR {VAR_DIR} must be a folder Ferry's user owns: {exc}") from exc


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEMO = env_bool("FERRY_DEMO")
TESTING = "PYTEST_VERSION" in os.environ
# Production is everything that is neither the demo nor a test run: its defaults are the safe ones.
PRODUCTION = not (DEMO or TESTING)


def _create_keys_file(keys_file: Path) -> None:
    """Write fresh keys to keys_file unless another process got there first.

    Two processes may start at once on a fresh checkout (the two test runs CI starts side by
    side): the keys are written whole to a private file, then linked into place, which fails
    for the second comer instead of letting it read a half-written file or overwrite the first.
    """
    stored = {"secret_key": secrets.token_urlsafe(50), "encryption_key": Fernet.generate_key().decode()}
    fd, draft = tempfile.mkstemp(dir=keys_file.parent, prefix=".keys-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle)
        os.link(draft, keys_file)
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)


def _load_keys() -> tuple[str, str]:
    """FERRY_SECRET_KEY and FERRY_ENCRYPTION_KEY from the environment.

    Only a demo run (FERRY_DEMO=1) or a test run generates its own, kept in var/keys.json so
    the secrets encrypted on the first start can still be read on the next one.
    """
    secret_key = os.environ.get("FERRY_SECRET_KEY")
    encryption_key = os.environ.get("FERRY_ENCRYPTION_KEY")
    if secret_key and encryption_key:
        return secret_key, encryption_key
    if PRODUCTION:
        if config.HELP_ONLY:
            return "", ""  # Django refuses an empty SECRET_KEY as soon as anything uses it
        raise ImproperlyConfigured(
            "FERRY_SECRET_KEY and FERRY_ENCRYPTION_KEY must be set "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'). Only `make demo` makes its own."
        )
    keys_file = VAR_DIR / "keys.json"
    if not keys_file.exists():
        _create_keys_file(keys_file)
    stored = json.loads(keys_file.read_text())
    return secret_key or stored["secret_key"], encryption_key or stored["encryption_key"]


SECRET_KEY, FERRY_ENCRYPTION_KEY = _load_keys()
DEBUG = env_bool("FERRY_DEBUG")
ALLOWED_HOSTS = env_list("FERRY_ALLOWED_HOSTS", "127.0.0.1,localhost")
# Origins (scheme://host[:port]) allowed to post forms and open websockets besides the page's own.
CSRF_TRUSTED_ORIGINS = env_list("FERRY_CSRF_TRUSTED_ORIGINS")
if TESTING:
    ALLOWED_HOSTS.append("testserver")
    CSRF_TRUSTED_ORIGINS.append("http://testserver")

# Basic authentication, plain HTTP and machines on loopback, link-local or cloud-metadata
# addresses: only when the installation allows it (the lab lives on loopback and speaks HTTP).
FERRY_ALLOW_INSECURE_WINRM = env_bool("FERRY_ALLOW_INSECURE_WINRM", default=not PRODUCTION)
# Reverse proxies (addresses or networks) whose X-Forwarded-For names the client in the audit log.
FERRY_TRUSTED_PROXIES = env_list("FERRY_TRUSTED_PROXIES")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "channels",
    "django_q",
    "axes",
    "django_htmx",
    "template_partials",
    "django_tables2",
    "django_filters",
    "formtools",
    "core",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "fabric",
    "jobs",
    "compliance",
    "upgrades",
    "api",
    "notifications",
    "users",
    "nodescripts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "core.audit.AuditRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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
                "core.navigation.navigation",
            ],
        },
    },
]
# Form templates from TEMPLATES, so templates/django/forms/field.html lays out every field group.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

_sqlite_file = VAR_DIR / "ferry.sqlite3"
_default_db = f"sqlite:///{_sqlite_file}"
if "DATABASE_URL" not in os.environ:
    # Created here, owner-only, before SQLite would create it with the umask's permissions.
    os.close(os.open(_sqlite_file, os.O_WRONLY | os.O_CREAT, 0o600))
    _sqlite_file.chmod(0o600)
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db), conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A web process runs all websocket database work on one thread; opening a connection for each
    # call (~15 ms) made a burst of 100 viewers miss daphne's handshake timeout. Keep them open.
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("FERRY_DB_CONN_MAX_AGE", "60"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "core.db.sqlite"  # Django's, with a process's writers queueing
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests that start daphne or qcluster in other processes need a file, not :memory:.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# django-q2: the ORM broker works on both shapes. A task invocation is kept short (the engine
# checkpoints and re-enqueues), so `timeout` stays well below `retry` (docs/stack.md).
Q_CLUSTER = {
    "name": "ferry",
    "orm": "default",
    "workers": int(os.environ.get("FERRY_WORKERS", "4")),
    "timeout": 600,
    "retry": 900,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
    "save_limit": 1000,
    "label": "Tasks",
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out user and address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# At most 5 failures for one user name from one address, then locked out for the cool-off.
AXES_FAILURE_LIMIT = 5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("FERRY_LOCKOUT_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "fabric.views.login.locked_out"
AXES_CLIENT_IP_CALLABLE = "core.audit.client_address"
AXES_VERBOSE = False  # Ferry logs failed logins itself, without the submitted password
SESSION_COOKIE_AGE = int(float(os.environ.get("FERRY_SESSION_HOURS", "8")) * 3600)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "fabric:server_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up when it is missing
WHITENOISE_USE_FINDERS = True

# Notifications: links in messages start with this (the address people open Ferry at), e.g.
# https://ferry.example.com; without it they carry the path only. E-mail goes through Django's mail
# settings, from the environment.
FERRY_PUBLIC_URL = os.environ.get("FERRY_PUBLIC_URL", "")
EMAIL_HOST = os.environ.get("FERRY_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("FERRY_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("FERRY_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("FERRY_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("FERRY_EMAIL_STARTTLS")
EMAIL_USE_SSL = env_bool("FERRY_EMAIL_TLS")
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = os.environ.get("FERRY_EMAIL_FROM", "ferry@localhost")

# The REST API (/api/): personal tokens for scripts, the session (with CSRF) for the browsable pages;
# the three roles through the same checks as the pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ferry API",
    "DESCRIPTION": "The fabric, compliance, jobs, remediation and rolling upgrades of Ferry.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["api.permissions.RolePermission"],
    "SCHEMA_PATH_PREFIX": "/api/",
    "ENUM_NAME_OVERRIDES": {
        "VMStateEnum": "fabric.choices.VMState",
        "HostStatusEnum": "fabric.choices.HostStatus",
        "ComplianceStateEnum": "compliance.choices.ComplianceState",
        "JobStatusEnum": "jobs.choices.JobStatus",
        "StepStatusEnum": "jobs.choices.StepStatus",
    },
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table"}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("FERRY_SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("FERRY_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = int(os.environ.get("FERRY_HSTS_SECONDS", "31536000" if PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("FERRY_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("FERRY_HSTS_PRELOAD", default=True)
if env_bool("FERRY_BEHIND_TLS_PROXY"):
    # Only behind a proxy that always sets (and never forwards a client's) X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# django-q2's admin pages let a superuser schedule any Python function on the workers.
FERRY_ADMIN_TASK_PAGES = env_bool("FERRY_ADMIN_TASK_PAGES", default=not PRODUCTION)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FERRY_LOG_LEVEL", "WARNING")},
}
