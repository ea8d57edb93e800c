"""Settings of the Celery worker the fault tests start: the webhook tests' worker settings, with
emails written to files (`TEST_EMAIL_DIR`), so the test counts what every process sent."""

import os

from tests.webhooks.worker_settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["TEST_EMAIL_DIR"]
