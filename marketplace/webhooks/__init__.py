"""The webhook pipeline: a verified inbox of Stripe events, processed once each on a Celery worker.

See `registry` for how an app handles an event type, `views` for intake, `services` for processing.
"""
