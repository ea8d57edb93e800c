"""Production: Postgres, Redis, S3, SES and real Stripe keys, all from the environment.

`manage.py check --deploy` passes with zero warnings on these settings (tests/marketplace/test_settings.py).
"""

from .base import *  # noqa: F403
from .base import database, env, private_storage_settings

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": database()}

STATIC_ROOT = BASE_DIR / "staticfiles"  # noqa: F405
WHITENOISE_USE_FINDERS = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

ACCOUNT_EMAIL_VERIFICATION = "mandatory"
PLATFORM_ADMIN_REQUIRE_MFA = True

STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="s3")
if STORAGE_BACKEND == "s3":
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}  # noqa: F405
    STORAGES["private"] = private_storage_settings(STORAGE_BACKEND)  # noqa: F405 (dispute evidence: never public)
    # Listing images are served by the bucket: the Content-Security-Policy must let pages show them.
    bucket_origins = [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.amazonaws.com"]  # noqa: F405
    bucket_origins += [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.{AWS_S3_REGION_NAME}.amazonaws.com"]  # noqa: F405
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] += env.list(  # noqa: F405
        "CSP_MEDIA_ORIGINS",
        default=[AWS_S3_ENDPOINT_URL] if AWS_S3_ENDPOINT_URL else bucket_origins,  # noqa: F405
    )
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="marketplace.email.SesEmailBackend")
