"""`make demo`: embedded SQLite, tasks run in-process, mail to the console, the sandbox as Stripe."""

from .base import *  # noqa: F403
from .base import env

# Off, as in production: a newcomer sees the site's own 404 and 500 pages, never Django's debug
# page (DJANGO_DEBUG=true brings it back). Static files come from WhiteNoise's finders, uploads
# from SERVE_MEDIA.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SERVE_MEDIA = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# No Redis in the demo: a per-process cache is enough for one runserver.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://demo")}
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="http://127.0.0.1:12111")
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRETS", default=["whsec_demo_platform"])
STRIPE_CONNECT_WEBHOOK_SECRETS = env.list("STRIPE_CONNECT_WEBHOOK_SECRETS", default=["whsec_demo_connect"])
