"""The Celery app. Settings come from Django settings prefixed CELERY_ (see config/settings/base.py).

Tasks are enqueued with `transaction.on_commit` (marketplace.tasks.enqueue_on_commit) so a worker
never sees an id whose row is not committed yet.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
