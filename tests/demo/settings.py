"""The demo's settings (`config.settings.local`, embedded SQLite included) plus one URL that raises,
so the tests can see the demo's 500 page (the demo itself has no view that fails on purpose), and a
sign-up limit per address that the tests' many sign-ups from one address stay under."""

from config.settings.local import *  # noqa: F403

ROOT_URLCONF = "tests.demo.urls"

# The demo's tests sign up dozens of people from one address (127.0.0.1) within a minute, which allauth's
# limit of 20 sign-ups a minute per address answers with 429 once enough of them run close together; the
# other limits stay the demo's own.
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS, "signup": "1000/m/ip"}  # noqa: F405
