"""Settings of the worker subprocesses the webhook tests start: the test settings, tasks sent to a
real broker, and Redis's "restore unacknowledged messages" sweep run every second instead of every
~100 s, so a killed worker's message comes back within the test's patience."""

import os

from config.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
