"""Settings for the privacy portal, read from the environment.

With nothing set the portal runs on embedded defaults (SQLite, Celery tasks
in-process, SMS written to files, DEBUG on) so a newcomer needs no services.
Every variable is listed in the README's configuration table.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # Django's admin with the staff desk's site: sign-in through allauth, a second factor.
    "privacyportal.staff_access.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "phonenumber_field",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # django-ninja serves the API docs from its own static files when it is an app.
    "ninja",
    "privacyportal",
    "accounts",
    "consents",
    "help",
    "requests",
    "api",
]

MIDDLEWARE = [
    "privacyportal.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Above everything that can answer (rate limits, policy acceptance, views), so each of
    # their responses gets the policy; below whitenoise, whose static files need none.
    "csp.middleware.CSPMiddleware",
    # Also above everything that can answer, and below whitenoise: static files stay cacheable.
    "privacyportal.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Needs the user: while signed in, the account's language wins over the cookie.
    "privacyportal.middleware.AccountLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "privacyportal.middleware.RateLimitedMiddleware",
    "consents.middleware.PolicyAcceptanceMiddleware",
]

ROOT_URLCONF = "privacyportal.urls"
WSGI_APPLICATION = "privacyportal.wsgi.application"

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
                "consents.context_processors.policy_notice",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # libpq waits for ever by default: an unreachable database must fail fast, so
        # /health/ reports it instead of hanging. A connect_timeout in the URL wins.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
        }
    }
# A request either completes or leaves nothing behind (e.g. a sign-up whose
# code could not be sent is rolled back, not left half-made).
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache (rate limits) and Celery broker -------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "pp",
            # redis-py waits for ever by default; a Redis that stopped answering must
            # fail a request (and /health/) quickly, not hang it.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
# Without a broker the tasks run in-process, right where they are queued.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup otherwise closes the database connection around every task, so
# each task (each deletion notice) would open a new PostgreSQL connection. A worker keeps
# its connection for this many tasks; one broken meanwhile (a database restart) fails
# tasks until it is replaced, and what those tasks should have done is still due in the
# database, where the sweeps find it.
CELERY_DB_REUSE_MAX = 100
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE: dict = {
    "access-copies-sweep": {"task": "requests.tasks.access_copies_sweep", "schedule": 600.0},
    "deletion-notices-sweep": {"task": "requests.tasks.notices_sweep", "schedule": 60.0},
    # /health/ reads when a worker last ran this. Expiring unrun copies keeps a worker
    # that comes back after an outage from running a backlog of heartbeats.
    "worker-heartbeat": {
        "task": "privacyportal.tasks.worker_heartbeat_task",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Storage periods (policy 5.1-5.2), in the quiet hours of CELERY_TIMEZONE (Asia/Shanghai).
    "purge-expired": {
        "task": "privacyportal.tasks.purge_expired_task",
        "schedule": crontab(hour=3, minute=30),
    },
}

# --- Health (/health/) -------------------------------------------------------------
# Seconds since a worker last ran the heartbeat (every 30 s) before /health/ fails.
HEALTH_WORKER_MAX_AGE = float(os.environ.get("HEALTH_WORKER_MAX_AGE", "120"))
# Load balancers probe the web processes over plain HTTP; a redirect is a failed probe.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# --- Users and sign-in (django-allauth, phone only) -----------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PHONENUMBER_DEFAULT_REGION = "CN"
PHONENUMBER_DB_FORMAT = "E164"

ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "consents.forms.PolicyAcceptanceSignupForm"
ACCOUNT_FORMS = {
    "login": "accounts.forms.PhoneLoginForm",
    "verify_phone": "accounts.forms.SmsVerifyPhoneForm",
    "confirm_login_code": "accounts.forms.SmsConfirmLoginCodeForm",
}
ACCOUNT_LOGIN_METHODS = {"phone"}
ACCOUNT_SIGNUP_FIELDS = ["phone*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_USER_MODEL_EMAIL_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS = 3
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
# Six digits, as every SMS code in China reads; typed on a phone's number pad.
ALLAUTH_USER_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    # One code per number every 60 s and a few per hour stop SMS flooding;
    # the per-IP limit stops one client from cycling through numbers.
    "verify_phone": "1/60s/key,5/h/key,10/h/ip",
    "request_login_code": "1/60s/key,5/h/key,20/h/ip",
    "change_phone": "1/m/user,5/h/user",
    "login_failed": "10/m/ip,5/300s/key",
    # Codes that confirm a copy or deletion request, keyed by the account's number.
    "request_verify": "1/60s/key,5/h/key,10/h/ip",
}
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# Staff sign in here too (the admin's login page redirects to allauth's), so the same limits,
# lockout and security events apply; allauth asks for the second factor after the password.
# Dangerous desk actions (and changing a second factor) ask for the password or an
# authenticator code again when the last re-authentication is older than this (seconds).
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
LOGIN_REDIRECT_URL = "accounts:settings"
LOGIN_URL = "account_login"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_SIGNUP_REDIRECT_URL = "accounts:settings"

# --- Second factor (allauth.mfa) -------------------------------------------------
# An authenticator app (TOTP) and recovery codes; WebAuthn would need fido2 as well.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "Privacy portal")
# Remembering a browser would skip the second factor on that browser: never for staff.
MFA_TRUST_ENABLED = False
# The staff desk opens only after a second factor (privacyportal/staff_access.py): always
# when DEBUG is off, which no variable can turn off; in development only when asked, so
# `make run`'s demo staff login needs none. The test suite imports this module with DEBUG
# unset, so the requirement is off in tests by default; tests that need it set it on.
STAFF_REQUIRE_MFA = not DEBUG or env_bool("STAFF_REQUIRE_MFA", False)

# --- SMS ----------------------------------------------------------------------
SMS_BACKEND = os.environ.get("SMS_BACKEND", "privacyportal.sms.backends.filebased.SmsBackend")
SMS_FILE_PATH = Path(os.environ.get("SMS_FILE_PATH", VAR_DIR / "sms"))
SMS_HTTP_ENDPOINT = os.environ.get("SMS_HTTP_ENDPOINT", "")
SMS_HTTP_API_KEY = os.environ.get("SMS_HTTP_API_KEY", "")
SMS_HTTP_TIMEOUT = float(os.environ.get("SMS_HTTP_TIMEOUT", "10"))
SMS_SENDER_NAME = os.environ.get("SMS_SENDER_NAME", "隐私门户")

# --- The personal-information controller, as named on consent receipts -------
PRIVACY_CONTROLLER_NAME = os.environ.get("PRIVACY_CONTROLLER_NAME", "")
PRIVACY_CONTROLLER_CONTACT = os.environ.get("PRIVACY_CONTROLLER_CONTACT", "")
PRIVACY_CONTROLLER_ADDRESS = os.environ.get("PRIVACY_CONTROLLER_ADDRESS", "")
PRIVACY_CONTROLLER_COUNTRY = os.environ.get("PRIVACY_CONTROLLER_COUNTRY", "CN")
PRIVACY_CONTROLLER_EMAIL = os.environ.get("PRIVACY_CONTROLLER_EMAIL", "")
PRIVACY_CONTROLLER_PHONE = os.environ.get("PRIVACY_CONTROLLER_PHONE", "")
PRIVACY_CONTROLLER_URL = os.environ.get("PRIVACY_CONTROLLER_URL", "")

# --- Deletion notices to recipients --------------------------------------------------
# The portal's public address: recipients call back to it to confirm a deletion.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000")
NOTICE_MAX_ATTEMPTS = int(os.environ.get("NOTICE_MAX_ATTEMPTS", "8"))
NOTICE_BACKOFF_BASE = float(os.environ.get("NOTICE_BACKOFF_BASE", "30"))
NOTICE_BACKOFF_MAX = float(os.environ.get("NOTICE_BACKOFF_MAX", str(6 * 3600)))
NOTICE_TIMEOUT = float(os.environ.get("NOTICE_TIMEOUT", "10"))
# How long an attempt may run before the sweep treats its worker as dead.
NOTICE_LEASE = float(os.environ.get("NOTICE_LEASE", "120"))
# A recipient's confirmation signs its time: older (or further ahead) than this is refused.
NOTICE_CALLBACK_MAX_AGE = int(os.environ.get("NOTICE_CALLBACK_MAX_AGE", "300"))

# --- Outgoing calls (privacyportal/outgoing.py) --------------------------------------
# Host names the portal may call although they are internal (and over plain HTTP): local
# recipients in development; none in production.
OUTGOING_ALLOWED_HOSTS = env_list(
    "OUTGOING_ALLOWED_HOSTS", "localhost,127.0.0.1,::1" if DEBUG else ""
)

# --- Internal API rate limits (api/throttling.py): "<calls>/<period>", period s, min, h --
# Per service token, every call; far above the consent checks a busy shop makes.
API_RATE_LIMIT_CLIENT = os.environ.get("API_RATE_LIMIT_CLIENT", "100000/min")
# Per client address, calls refused for a missing, wrong or revoked token (or signature).
API_RATE_LIMIT_AUTH_FAILURES = os.environ.get("API_RATE_LIMIT_AUTH_FAILURES", "60/min")
PRIVACY_OFFICER_EMAILS = env_list("PRIVACY_OFFICER_EMAILS")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "privacy-portal@localhost")

# Deletion tombstones are also journaled here, outside the database's backups, so a
# restore from an older backup can be cleaned again (manage.py replay_deletions).
TOMBSTONE_JOURNAL = Path(os.environ.get("TOMBSTONE_JOURNAL", VAR_DIR / "tombstones.jsonl"))

# --- Avatars ------------------------------------------------------------------
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
AVATAR_MAX_BYTES = int(os.environ.get("AVATAR_MAX_BYTES", str(5 * 1024 * 1024)))
AVATAR_MAX_PIXELS = int(os.environ.get("AVATAR_MAX_PIXELS", str(25_000_000)))
AVATAR_SIZE = 512
# Django refuses bigger bodies before a view reads them; room for a full avatar.
DATA_UPLOAD_MAX_MEMORY_SIZE = AVATAR_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = AVATAR_MAX_BYTES + 1024 * 1024

# --- Languages ----------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# The choice on the language switch lasts a year, not a browser session (and, while
# signed in, is kept on the account: privacyportal.middleware.AccountLanguageMiddleware).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"

# --- Static files (whitenoise) ------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security -----------------------------------------------------------------
# No page reads a cookie from JavaScript (forms carry the CSRF token), so none needs to be
# readable by scripts.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Pages and the admin load scripts and styles only from /static/: no inline <script>,
# <style> or style="" anywhere (tests/security/test_headers.py reads every page for them).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging --------------------------------------------------------------------
# JSON lines in production, for the log collector; readable text while developing.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "privacyportal.logs.RequestIdFilter"},
        "personal_data": {"()": "privacyportal.logs.PersonalDataFilter"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            # request_id first: the personal-data filter masks what it added too.
            "filters": ["request_id", "personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django": {"level": "INFO", "propagate": True}},
}
