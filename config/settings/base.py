"""Settings shared by every environment; everything that differs comes from the environment.

Read with django-environ so that one `.env` file or the process environment configures the
demo, the tests and production alike. See README.md for the table of settings.
"""

from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

# Django's generic classes typed as generics by django-stubs (`admin.ModelAdmin[Listing]`) must be
# subscriptable when the class statement runs, too.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-dev-key-change-me-in-production-0123456789")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# A form sent with a stale or missing token gets the site's own 403 page with a way to retry.
CSRF_FAILURE_VIEW = "frontend.error_views.csrf_failure"
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# The marketplace's name, as emails greet and sign with it ("Hello from Marketplace!") and as
# authenticator apps list it. Not the host: the demo's is "127.0.0.1:8000".
SITE_NAME = env.str("SITE_NAME", default="Marketplace")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "ninja",
    "marketplace",
    "catalog",
    "fees",
    "sellers",
    "orders",
    "payments",
    "payouts",
    "subscriptions",
    "frontend",
    "marketplace.webhooks",
    "marketplace.outbox",
    "marketplace.ledger",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "marketplace.middleware.ApiCsrfMiddleware",
    "marketplace.middleware.ApiMethodNotAllowedMiddleware",
    "marketplace.auth_middleware.AuthenticationMiddleware",  # Django's, with the user read with the session
    "marketplace.middleware.RejectUnreadableInputMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "marketplace.middleware.PlatformAdminMfaMiddleware",
    "frontend.middleware.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.roles",
                "csp.context_processors.nonce",  # CSP_NONCE, for an inline <script nonce="..."> if one is ever needed
                # `csrf_token` as Django's built-in processor gives it, made with fewer reads of os.urandom
                "marketplace.csrf.csrf",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Unset DATABASE_URL means the embedded SQLite of `make demo`; CI and production use Postgres.
# CONN_MAX_AGE: measured here, the default 0 (a new connection per request) made a DB-backed
# view about 7x slower, so connections are kept for a minute and health-checked.


def database(default_url: str | None = None) -> dict[str, Any]:
    """The database of DATABASE_URL (`default_url` when unset; production gives none: it must be
    set), with the settings below. One function, so production's is configured as the others."""
    db: dict[str, Any] = env.db("DATABASE_URL", default=default_url) if default_url else env.db("DATABASE_URL")
    db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    db["CONN_HEALTH_CHECKS"] = True
    db["ATOMIC_REQUESTS"] = False
    options = db.setdefault("OPTIONS", {})
    if db["ENGINE"] == "django.db.backends.postgresql":
        # Postgres prepares a statement run through `marketplace.prepared.prepared_cursor` (the
        # worker's per-event statements, the session's read) once a connection has run it this many
        # times; Django's own cursors never prepare. Empty: never (behind a transaction-pooling
        # PgBouncer before 1.21).
        threshold = env.str("DB_PREPARE_THRESHOLD", default="2")
        options["prepare_threshold"] = int(threshold) if threshold else None
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # The demo's SQLite is written by several requests at once (a success page, and the webhook
        # intake whose eager tasks write too). WAL: readers never wait for the writer. IMMEDIATE: a
        # transaction takes the write lock when it begins, so two that read then write queue behind
        # each other; a deferred one cannot wait for its upgrade and fails at once with "database is
        # locked". `timeout`: seconds a writer waits for the lock. SQLite has no row locks, so
        # select_for_update is a no-op there; the database-wide write lock gives the same exclusion.
        options.update(
            {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                "transaction_mode": "IMMEDIATE",
                "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
            }
        )
    return db


DATABASES = {"default": database(f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

# --- Cache: allauth's rate limits live here, so it must be shared by every process. ---------
# While Redis is down the cache falls back to each process's memory (marketplace/cache.py):
# rate limits keep working, counted per process, instead of failing open or making login a 500.
CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL:
    CACHES = {"default": env.cache_url("CACHE_URL")}
else:
    CACHES = {
        "default": {
            "BACKEND": "marketplace.cache.FallbackRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "mkt",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "marketplace.User"
AUTHENTICATION_BACKENDS = [
    "marketplace.auth_backends.ModelBackend",
    "marketplace.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
# allauth's default, stated: with verification mandatory (production), sign-up answers a taken address
# as a new one and emails its owner instead; with "optional" (the demo) it says the address is taken.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_ON_GET = False
# allauth's forms, each putting the cursor in the first wrong box when refused (frontend/account_forms.py).
ACCOUNT_FORMS = {
    name: f"frontend.account_forms.{cls}"
    for name, cls in {
        "login": "LoginForm",
        "signup": "SignupForm",
        "add_email": "AddEmailForm",
        "change_password": "ChangePasswordForm",
        "set_password": "SetPasswordForm",
        "reset_password": "ResetPasswordForm",
        "reset_password_from_key": "ResetPasswordKeyForm",
    }.items()
}
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_RATE_LIMITS = {
    # Failed sign-ins. allauth counts "key" per account, wherever the tries come from: five wrong passwords
    # every five minutes from a stranger kept a seller or an admin locked out for good. Our adapter makes
    # that key the pair (client address, account) (marketplace.account_adapter), so one address guessing
    # is stopped after 5 tries at an account and 10 a minute in all, while the owner elsewhere signs in.
    "login_failed": "10/m/ip,5/300s/key",
    # Ours: every address's failures at one account together. One address gets at most 60 an hour at an
    # account (5 per 5 minutes), so only many addresses at once reach 300. Whoever is locked out by that
    # signs in through a reset link from their inbox (ACCOUNT_LOGIN_ON_PASSWORD_RESET), which clears it.
    "login_failed_account": "300/h/key",
    "signup": "20/m/ip",
    # Emails a stranger can have sent to someone else's address: a few an hour per address ("key"; a
    # reset link works for days, so the owner of a flooded inbox still has one), and per asking address.
    "reset_password": "20/h/ip,3/h/key",
    # Emailed codes (re-authentication, which staff without an authenticator app must pass to set one
    # up: `marketplace.mfa_enrolment`): asked per IP and per address; re-authentication tries per user.
    "request_login_code": "20/h/ip,5/h/key",
    # Sign-up with someone's address emails them (a confirmation link, or "you already have an account"):
    # allauth's one per 3 minutes per address is 20 an hour from any number of strangers; 5 an hour more.
    "confirm_email": "1/180s/key,5/h/key",
    "reauthenticate": "10/m/user",
}
# Such a code works for three minutes and for three wrong tries (allauth's defaults, stated).
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 180
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
# "code" (a code emailed to a verified address) is the only one staff without an app may use.
ACCOUNT_REAUTHENTICATION_METHODS = ("password", "code", "mfa")
# The rate limits "per ip" above count per client address. Behind proxies, every request comes from
# the proxy's address, so allauth must take the client's from X-Forwarded-For: the entry written by
# the outermost of this many proxies of ours (the ones before it are the client's to invent). 0 (the
# default, for a server reached directly) ignores the header, so a client cannot choose its address.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)
# A reset link proves the inbox is the account's: it signs its owner in, even while strangers' failed
# sign-ins hold the account at the ceiling above. An account with an authenticator app still asks for it.
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_ADAPTER = "marketplace.account_adapter.AccountAdapter"  # its emails go through the outbox
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
# Platform admins must have TOTP before they can use the console (forced in production).
PLATFORM_ADMIN_REQUIRE_MFA = env.bool("PLATFORM_ADMIN_REQUIRE_MFA", default=False)
PLATFORM_ADMINS_GROUP = "platform admins"

SESSION_ENGINE = "marketplace.sessions"  # Django's database sessions, read with plain SQL (see the module)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Content-Security-Policy (django-csp) ---------------------------------------------------------
# Scripts and styles come from our own static files only; an inline <script> runs only with the
# request's nonce, and no template has one. Images may also be data: URIs (the two-factor QR code,
# Swagger UI's icons). No form-action: our forms redirect to Stripe's hosted pages, whose origin
# differs per environment (the sandbox in the demo and tests).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- i18n / static / media ------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Only production collects static files; the demo and tests serve them from the finders.
STATIC_ROOT: Path | None = None
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
SERVE_MEDIA = False  # Django serves MEDIA_ROOT itself: the demo only (production uses S3)

STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")  # "local" or "s3"
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="us-east-1")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)
AWS_SES_REGION_NAME = env.str("AWS_SES_REGION_NAME", default="us-east-1")
# Private files (dispute evidence: receipts, buyers' addresses) are never in the public storage above:
# on one machine they live outside MEDIA_ROOT, so the demo's /media/ cannot serve them; on S3 under
# their own prefix (or bucket), written with no ACL header, so owner-only (a canned "private" ACL would
# be refused by a bucket whose ACLs are disabled), and read only by the views that check who asks
# (marketplace/storage.py). A bucket policy making listing images public must name their prefix
# (`listings/*`), never the whole bucket; AWS_PRIVATE_STORAGE_BUCKET_NAME puts them in another bucket.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "private-media")
AWS_PRIVATE_STORAGE_BUCKET_NAME = env.str("AWS_PRIVATE_STORAGE_BUCKET_NAME", default="")
AWS_PRIVATE_LOCATION = env.str("AWS_PRIVATE_LOCATION", default="private")


def private_storage_settings(backend: str) -> dict[str, Any]:
    """The "private" storage alias for a STORAGE_BACKEND ("local" or "s3")."""
    if backend != "s3":
        return {"BACKEND": "marketplace.storage.PrivateFileSystemStorage"}
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_PRIVATE_STORAGE_BUCKET_NAME or AWS_STORAGE_BUCKET_NAME,
            "location": AWS_PRIVATE_LOCATION,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }


STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage"
        if STORAGE_BACKEND == "s3"
        else "django.core.files.storage.FileSystemStorage"
    },
    "private": private_storage_settings(STORAGE_BACKEND),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Marketplace <noreply@marketplace.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where sellers write when the marketplace paused or closed their shop (the status card links to it).
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="support@marketplace.example")

# --- Refunds --------------------------------------------------------------------------------
# A buyer may ask for a refund this many days after paying; a request the seller has not answered
# for this many days goes to the platform admins' console; and whether a refund gives the seller the
# platform's fee back in proportion (Stripe's `refund_application_fee`, paid to the seller) or the
# platform keeps it.
REFUND_WINDOW_DAYS = env.int("REFUND_WINDOW_DAYS", default=30)
REFUND_ADMIN_AFTER_DAYS = env.int("REFUND_ADMIN_AFTER_DAYS", default=3)
REFUND_APPLICATION_FEE = env.bool("REFUND_APPLICATION_FEE", default=True)

# --- Stripe ---------------------------------------------------------------------------------
# STRIPE_API_BASE points the SDK at the sandbox; unset means api.stripe.com.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_sandbox")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="") or None
# The Stripe API version every request asks for. Default: the version the installed `stripe` package
# (16.1.0) is typed for, which `marketplace.gateway.types` follows; Django refuses to start when the
# two differ (marketplace/gateway/checks.py). Webhook endpoints must send this version too: events of
# another one are stored and held, not processed (marketplace/webhooks/services.py).
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default="") or "2026-10-28.endive"
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRETS", default=[])
STRIPE_CONNECT_WEBHOOK_SECRETS = env.list("STRIPE_CONNECT_WEBHOOK_SECRETS", default=[])
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# Seconds to connect to Stripe and to wait for its answer (the SDK's default is 80). With the retries
# above one call takes at most 3 x (2 + 5) s + 1.5 s of backoff = 22.5 s (tests/faults/timing.py),
# under gunicorn's 30 s worker timeout, so a hanging Stripe ends in a sentence, not a killed worker.
STRIPE_CONNECT_TIMEOUT = env.float("STRIPE_CONNECT_TIMEOUT", default=2.0)
STRIPE_READ_TIMEOUT = env.float("STRIPE_READ_TIMEOUT", default=5.0)
# The currency of the page that saves a buyer's card (Checkout `mode=setup`): Stripe requires one there,
# since this API version takes no `payment_method_types`, and shows the payment methods it supports. A
# card saved under it pays in any currency.
CARD_SETUP_CURRENCY = env.str("CARD_SETUP_CURRENCY", default="usd").lower()

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged after it ran, and requeued if its worker dies: handlers are idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers a message not acknowledged within visibility_timeout (a worker killed mid-task).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Measured here: 210 tasks/s with a fresh DB connection per task, 810 with connections reused.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Re-enqueue webhook events stuck unprocessed (lost message, Redis down), and fill gaps from /v1/events.
    "webhooks-sweep-stuck-events": {"task": "webhooks.sweep_stuck_events", "schedule": 60.0},
    "webhooks-catch-up-events": {"task": "webhooks.catch_up_events", "schedule": 6 * 3600.0},
    # Deliver outbox rows (emails, follow-ups) whose task never ran (Redis down) or that failed.
    "outbox-sweep": {"task": "outbox.sweep", "schedule": 60.0},
    # Remind sellers of a Stripe deadline a few days ahead (once per deadline; hourly so none is missed).
    "sellers-deadline-reminders": {"task": "sellers.send_deadline_reminders", "schedule": 3600.0},
    # Release the stock of checkouts whose session expired without a webhook reaching us, and settle
    # payments we are still confirming (a buyer is waiting on those: every minute).
    "orders-sweep-expired-checkouts": {"task": "orders.sweep_expired_checkouts", "schedule": 60.0},
    # Remind sellers and admins of dispute evidence due in 5 and in 2 days (once each; hourly so none is missed).
    "payments-dispute-reminders": {"task": "payments.send_dispute_reminders", "schedule": 3600.0},
    # Collect sellers' dispute debts from funds that arrived, should a balance.available event be missed.
    "payments-collect-seller-debts": {"task": "payments.collect_seller_debts", "schedule": 3600.0},
    # Match every Stripe balance transaction to the ledger (differences: the console's reconciliation page).
    # Read every seller's Stripe balance again, so the console's negative available balances include a
    # seller who never opened the Money page, or whose balance Stripe changed without an event to us.
    "payouts-reread-balances": {"task": "payouts.reread_balances", "schedule": 6 * 3600.0},
    "payouts-reconcile-nightly": {"task": "payouts.reconcile_nightly", "schedule": crontab(hour=3, minute=15)},
}

# --- Disputes ---------------------------------------------------------------------------------
# A seller whose disputes over payments (orders and subscription payments, 90 days) exceed this,
# in basis points, is flagged (0.75%).
DISPUTE_RATE_THRESHOLD_BPS = env.int("DISPUTE_RATE_THRESHOLD_BPS", default=75)
# What a lost dispute takes back from the seller: seller_share (the transfer reversed with the
# application fee refunded), seller_share_and_fee (plus Stripe's dispute fee), or none.
DISPUTE_RECOVERY = env.str("DISPUTE_RECOVERY", default="seller_share")
if DISPUTE_RECOVERY not in ("seller_share", "seller_share_and_fee", "none"):
    raise ImproperlyConfigured("DISPUTE_RECOVERY must be seller_share, seller_share_and_fee or none.")

# The largest request body read at all, by its declared length (`marketplace.middleware`): Django caps
# neither a multipart form's files nor the whole body, and parses them (to temporary files) when the
# NUL or CSRF check first reads the form, before any view could refuse a file. Well above every size a
# form or the API accepts (images 5 MB, dispute files 4 MB, JSON bodies DATA_UPLOAD_MAX_MEMORY_SIZE).
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=10 * 1024 * 1024)

# --- Webhook pipeline -------------------------------------------------------------------------
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=10.0)
WEBHOOK_SWEEP_AFTER_SECONDS = env.int("WEBHOOK_SWEEP_AFTER_SECONDS", default=300)
# How long the intake's relay lets ids gather before publishing them in one round trip
WEBHOOK_RELAY_LINGER_SECONDS = env.float("WEBHOOK_RELAY_LINGER_SECONDS", default=0.02)
# At most this many event ids in one worker message (each event still has its own transaction)
WEBHOOK_TASK_BATCH = env.int("WEBHOOK_TASK_BATCH", default=20)
# A batch still running after this many seconds sends the events it has not started as a new message
WEBHOOK_BATCH_SECONDS = env.float("WEBHOOK_BATCH_SECONDS", default=30.0)
# An outbox row never tried for this long is delivered by the sweeper (its own task was lost)
OUTBOX_SWEEP_AFTER_SECONDS = env.int("OUTBOX_SWEEP_AFTER_SECONDS", default=60)
WEBHOOK_HANDLER_MODULES = env.list("WEBHOOK_HANDLER_MODULES", default=[])  # extra modules with @webhook_handler

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
