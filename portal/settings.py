"""The one settings module. Every difference between deployments is read from the environment.

DATABASE_URL  PostgreSQL URL of the runtime role; absent -> a project-local embedded PostgreSQL under var/
DATABASE_OWNER_URL  PostgreSQL URL of the schema owner, used with DATABASE_AS_OWNER=1 (migrate, grants, restore)
REDIS_URL     Redis URL for Celery; absent -> Celery tasks run in-process (task_always_eager)
SECRET_KEY    required when DEBUG is off
DEBUG         on for development, off in production
ALLOWED_HOSTS comma-separated
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "pghistory",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal",
    "students",
    "subsidies",
    "dropout_control",
    "nutrition",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.IdleTimeoutMiddleware",
    "portal.search.IdNumberQueryMiddleware",
    "portal.middleware.LanguageMiddleware",
    "portal.middleware.NulByteMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.audit.DeniedAccessLogMiddleware",
    "portal.security.SecurityGateMiddleware",
    "portal.audit.FileAccessLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Attaches the acting user and URL to every history row written during the request.
    "pghistory.middleware.HistoryMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "portal.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.navigation.navigation",
            ],
        },
    },
]

# --- Database: PostgreSQL only --------------------------------------------------------------------
# Two roles (SECURITY.md, "Database roles"). The web server and the workers connect as the runtime role of
# DATABASE_URL, which owns nothing and may only insert into and read the access log and the change history.
# The commands that change the schema or the grants (migrate, grant_runtime_role, restore_db) run with
# DATABASE_AS_OWNER=1 and connect as the schema owner of DATABASE_OWNER_URL. Given only DATABASE_URL, that
# one role is both (a development server; `manage.py check --database default` warns).
DATABASE_AS_OWNER = env.bool("DATABASE_AS_OWNER", default=False)
if "DATABASE_URL" in env:
    _runtime_db = env.db("DATABASE_URL")
    _owner_db = env.db("DATABASE_OWNER_URL") if "DATABASE_OWNER_URL" in env else _runtime_db
elif "DATABASE_OWNER_URL" in env:
    raise ImproperlyConfigured("DATABASE_OWNER_URL is set but DATABASE_URL (the runtime role) is not.")
else:
    from portal.embedded_db import embedded_database_url

    # The embedded server's superuser owns the schema; the app runs as a role of its own (trusted socket).
    _owner_db = env.db_url_config(embedded_database_url(VAR_DIR))
    _runtime_db = {**_owner_db, "USER": "portal_app", "PASSWORD": ""}
DATABASES = {"default": _owner_db if DATABASE_AS_OWNER else _runtime_db}
# For grant_runtime_role, run by the owner: whom to grant to, and the password to create the role with.
DATABASE_RUNTIME_ROLE = _runtime_db["USER"]
DATABASE_RUNTIME_PASSWORD = _runtime_db["PASSWORD"]
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL: the schema relies on it.")
# Persistent connections serve gunicorn's long-lived workers. The development server starts a thread per
# request, each keeping its own connection for the whole age: a burst of requests under `make run` used up
# PostgreSQL's 100 slots and every page answered 500. So development closes them after each request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Lets parallel test runs (several developers on one server) keep separate test databases.
if "TEST_DB_NAME" in env:
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DB_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

# Dropout control's monthly zero report (零报告) is filed from the month the county adopted the portal's
# dropout module; an earlier month is refused (no report can be filed for 1999).
DROPOUT_ZERO_REPORTS_FROM = date.fromisoformat(env.str("DROPOUT_ZERO_REPORTS_FROM", default="2024-09-01"))
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE = {
    # The year-end report, rebuilt at 02:30 county time when nobody is entering data.
    "reports-yearend-nightly": {
        "task": "reports.tasks.rebuild_yearend_nightly",
        "schedule": crontab(hour=2, minute=30),
    },
    # The dashboards read lately, counted again before their cached figures expire (every 4 minutes, under
    # reports.selectors.CACHE_SECONDS: reports.selectors.WARM_EVERY_SECONDS).
    "reports-warm-dashboards": {
        "task": "reports.tasks.warm_dashboards",
        "schedule": 4 * 60,  # seconds
    },
    # Uploaded import files that outlived their import (students.services.import_files_purge).
    "students-purge-import-files": {
        "task": "students.tasks.purge_import_files",
        "schedule": crontab(hour=3, minute=15),
    },
    # Watches after a return whose monthly attendance was not confirmed raise their case again.
    "dropout-check-watches": {
        "task": "dropout_control.tasks.check_watches",
        "schedule": crontab(hour=3, minute=45),
    },
    # Household lists' files (every child's ID number) that outlived their comparison.
    "dropout-purge-register-files": {
        "task": "dropout_control.tasks.purge_register_files",
        "schedule": crontab(hour=3, minute=20),
    },
    # Suspected dropouts who are on a school's roll since: cleared, the school named.
    "dropout-resolve-enrolled-suspects": {
        "task": "dropout_control.tasks.resolve_enrolled_suspects",
        "schedule": crontab(hour=3, minute=50),
    },
}

# --- Auth -----------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Length alone lets `Aaaaaaaaaaaa` through: zxcvbn estimates how guessable the whole password is.
    {"NAME": "portal.passwords.StrengthValidator", "OPTIONS": {"min_guesses_log10": 10}},
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Failures count per (user name, address) pair: a stranger guessing names from one address locks only
# those pairs, never the real users behind the same proxy. The address is the real client's (portal.audit).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "portal.audit.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# A second factor (TOTP) is required for these roles; optional for the others.
OTP_REQUIRED_ROLES = env.list("OTP_REQUIRED_ROLES", default=["bureau", "official"])
OTP_TOTP_ISSUER = "县教育局教育帮扶平台"
# A first authenticator for a role that needs one is enrolled only through a link a bureau administrator makes
# (portal.security.enrolment_links); the link is good for this long and for one enrolment.
OTP_ENROLMENT_LINK_HOURS = env.int("OTP_ENROLMENT_LINK_HOURS", default=72)
# Django's signed-token check also holds it to PASSWORD_RESET_TIMEOUT (3 days).
if not 1 <= OTP_ENROLMENT_LINK_HOURS <= 72:
    raise ImproperlyConfigured("OTP_ENROLMENT_LINK_HOURS must be between 1 and 72.")
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
# The age counts from the last request (an idle timeout): portal.middleware.IdleTimeoutMiddleware.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- i18n: Simplified Chinese first, English second -----------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Production serves hashed, compressed files collected by `collectstatic`; development and tests serve
# the source files through the finders.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
# Unknown static names fall back to the plain name instead of failing (tests run without collectstatic).
WHITENOISE_MANIFEST_STRICT = False

# --- Uploads --------------------------------------------------------------------------------------
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=30 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=160_000)
# The reader holds a sheet as one rectangle from A1 to its farthest cell: this bounds its area (and the
# number of cells), about 230 MB at most. 160,000 rows of the 12-column student template are 1.9 million.
IMPORT_MAX_CELLS = env.int("IMPORT_MAX_CELLS", default=5_000_000)
# Uploads above this size (about 2,000 rows of the student template) run as a Celery task with progress.
IMPORT_ASYNC_THRESHOLD_BYTES = env.int("IMPORT_ASYNC_THRESHOLD_BYTES", default=100 * 1024)
# A roll-over of more children than this is applied by a Celery task (a Ningdu-size county's ~100,000
# children take about 30 s); a small county's is written in the request.
ROLLOVER_ASYNC_THRESHOLD_STUDENTS = env.int("ROLLOVER_ASYNC_THRESHOLD_STUDENTS", default=5_000)
# A month of meals above this size (about 1,000 rows: more than a township's month) runs as a Celery task
# with progress; a school's month (~60 rows, 4 KB) is checked and written in the request.
MEAL_IMPORT_ASYNC_THRESHOLD_BYTES = env.int("MEAL_IMPORT_ASYNC_THRESHOLD_BYTES", default=20 * 1024)
# An uploaded file is deleted when its import ends; one whose import never ended (a lost worker), and
# any file no import names, is deleted by the nightly purge after this many days.
IMPORT_FILE_RETENTION_DAYS = env.int("IMPORT_FILE_RETENTION_DAYS", default=2)

# --- Nutrition plan: food spending below the entitlement by more than this share is flagged (结余过多).
NUTRITION_UNDERSPEND_TOLERANCE = Decimal(env.str("NUTRITION_UNDERSPEND_TOLERANCE", default="0.05"))
# Checked at start, not when the first reconciliation reads it.
if not Decimal("0") <= NUTRITION_UNDERSPEND_TOLERANCE < Decimal("1"):
    raise ImproperlyConfigured("NUTRITION_UNDERSPEND_TOLERANCE must be a fraction between 0 and 1.")

# --- The county this deployment serves ------------------------------------------------------------
# Six-digit administrative division code: decides in-county vs out-of-county study.
HOME_COUNTY_CODE = env.str("HOME_COUNTY_CODE", default="360730")

# --- API ------------------------------------------------------------------------------------------
# API tokens (django-rest-knox, stored hashed) live a working day by default, and end earlier when the password
# changes, the account is disabled or must change its password (portal.tokens).
API_TOKEN_HOURS = env.int("API_TOKEN_HOURS", default=8)
if not 1 <= API_TOKEN_HOURS <= 24 * 30:
    raise ImproperlyConfigured("API_TOKEN_HOURS must be between 1 and 720.")
REST_KNOX = {"TOKEN_TTL": timedelta(hours=API_TOKEN_HOURS), "AUTO_REFRESH": False, "TOKEN_LIMIT_PER_USER": 20}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its "WWW-Authenticate: Token" makes a refused token a 401 (ask for a new one), not a 403.
        "portal.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.access.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.pagination.CachedCountPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "County education-assistance portal API",
    "VERSION": "1.0.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI assets come from the sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation documents its 400/403/404 with the error bodies (portal.api.document_errors).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "portal.api.document_errors"],
    # One schema name per choice set that several serializers share (keeps `check --deploy` clean).
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "students.models.Stage",
        "StudentStatusEnum": "students.models.Student.Status",
        "ImportJobStatusEnum": "students.models.ImportJob.Status",
        "ImportJobKindEnum": "students.models.ImportJob.Kind",
        "BatchKindEnum": "subsidies.models.DisbursementBatch.Kind",
        "MissingFromRollReasonEnum": "students.models.MissingFromRoll.Reason",
        "StudentCategoryEnum": "students.models.StudentCategory.Category",
        "MealStageEnum": "nutrition.models.MEAL_STAGES",
        "NutritionSeasonEnum": "nutrition.models.NutritionTerm.Season",
        "DropoutCaseStatusEnum": "dropout_control.models.DropoutCase.Status",
        "DropoutReasonEnum": "dropout_control.models.DropoutCase.Reason",
        "SuspectedDropoutStatusEnum": "dropout_control.models.SuspectedDropout.Status",
        "ClosingRequestStatusEnum": "dropout_control.models.ClosingRequest.Status",
        "AidTypeEnum": "subsidies.models.AidType",
        "BatchStatusEnum": "subsidies.models.DisbursementBatch.Status",
        "PaymentStatusEnum": "subsidies.models.Payment.Status",
        "IdentificationLevelEnum": "subsidies.models.IdentificationLevel",
        "IdentificationKindEnum": "subsidies.models.Identification.Kind",
        "IdentificationStatusEnum": "subsidies.models.Identification.Status",
        "IdentificationReviewResultEnum": "subsidies.models.Identification.ReviewResult",
        "ObjectionOutcomeEnum": "subsidies.models.IdentificationObjection.Outcome",
        "DropoutOutcomeEnum": "dropout_control.models.DropoutCase.Outcome",
        "SnapshotStatusEnum": "reports.models.YearEndSnapshot.Status",
        "RolloverStatusEnum": "students.models.Rollover.Status",
        "RolloverDecisionReasonEnum": "students.rollover.REASON_CODES",
    },
}

# --- Production hardening -------------------------------------------------------------------------
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies of ours append to X-Forwarded-For (docker-compose behind one TLS proxy: 1). 0 trusts none.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True
# Content security policy: scripts and styles from our own origin only (no CDN, no inline script).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# --- Change history (django-pghistory: database triggers, so bulk writes and update() are recorded) -
import pghistory  # noqa: E402

# Statement-level triggers: one trigger run per INSERT/UPDATE/DELETE statement, reading the changed rows from
# transition tables. Row-level ones cost ~0.5 ms a row (each opens a sub-transaction to read the context),
# which made a 150,000-row import spend 85% of its time in history triggers. The events each model keeps
# are declared with portal.tracking.track_changes.
PGHISTORY_LEVEL = pghistory.Statement
# History is read by record (`pgh_obj`, portal/history.py) and joined to its context, never by the school,
# township or student an event row names: those copied foreign keys carry no index (each would be one more
# index insertion for every row a bulk write records; issue 19). The record and the context keep theirs.
PGHISTORY_FOREIGN_KEY_FIELD = pghistory.ForeignKey(db_index=False)
PGHISTORY_OBJ_FIELD = pghistory.ObjForeignKey(db_index=True)
PGHISTORY_CONTEXT_FIELD = pghistory.ContextForeignKey(db_index=True)
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="portal-demo-2026")
