"""pytest: Postgres when DATABASE_URL is set (CI), the real Redis for cache and broker,
the mail outbox, and the sandbox started by the test session."""

import os

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
# This run's own cache keys: the Redis database is shared with the broker and with any other run on
# the machine, and allauth's per-address login limits (every test client is 127.0.0.1) must not add
# up across runs. Processes this run starts (app servers, workers) inherit the prefix.
CACHES["default"]["KEY_PREFIX"] = os.environ.setdefault("TEST_CACHE_KEY_PREFIX", f"mkt-test-{os.getpid()}")  # noqa: F405
STRIPE_WEBHOOK_SECRETS = ["whsec_test_platform"]
STRIPE_CONNECT_WEBHOOK_SECRETS = ["whsec_test_connect"]

# A test database per pytest process: several runs on one machine (engineers, CI) never drop
# each other's database. pytest-django destroys it at the end of the run.
DATABASES["default"].setdefault("TEST", {})  # noqa: F405
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"]["NAME"] = f"test_{DATABASES['default']['NAME']}_{os.getpid()}"  # noqa: F405
# The tests stop and start Stripe within a second and read /healthz each time: a fresh read every
# time. tests/marketplace/test_health.py checks the reuse the other settings have (10 s).
HEALTHZ_STRIPE_PROBE_SECONDS = 0
