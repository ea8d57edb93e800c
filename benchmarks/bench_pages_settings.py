"""Settings for `benchmarks/bench_pages.py`: the test settings on the bench's own Postgres database, with
the one-row comparison view mounted next to the real pages."""

from config.settings.test import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "benchmarks.bench_pages_urls"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
