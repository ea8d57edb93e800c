"""The demo's settings (`config.settings.local`, embedded SQLite included) plus one URL that raises,
so the tests can see the demo's 500 page: the demo itself has no view that fails on purpose."""

from config.settings.local import *  # noqa: F403

ROOT_URLCONF = "tests.demo.urls"
