"""Settings for `benchmarks/bench_webhooks.py`: the test settings on a scratch Postgres database, tasks
sent to a real Redis (not eager), and the bare comparison view mounted next to the real endpoints."""

from config.settings.test import *  # noqa: F403

DEBUG = False
CELERY_TASK_ALWAYS_EAGER = False
ROOT_URLCONF = "benchmarks.bench_urls"
WEBHOOK_HANDLER_MODULES = ["benchmarks.bench_handlers"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
