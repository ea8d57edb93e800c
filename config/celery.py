"""The Celery app. Settings come from Django settings prefixed CELERY_ (see config/settings/base.py).

Work that follows a committed change is a row first (the webhook inbox, the outbox in
`marketplace.outbox`), and its task is sent after the commit, so a worker never sees an id whose row
is not committed yet, and a broker outage only delays it: the sweepers send what never went.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
