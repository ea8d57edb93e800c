from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.static import serve

from config.api import api
from marketplace import mfa_enrolment
from marketplace.health import healthz
from marketplace.webhooks import views as webhook_views


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever the page says (the API docs, files, error pages)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


# Django's admin has its own login form, which takes the password alone and so signed an admin with
# an authenticator app in without its code (for the console too). It sends to the site's login
# instead, which asks for the code; a signed-in user who is not staff gets a 403 there.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    # The webhook endpoints first: they take the most requests, and each pattern before them is tried.
    path("webhooks/stripe/", webhook_views.stripe_webhook, name="stripe_webhook"),
    path("webhooks/stripe/connect/", webhook_views.stripe_connect_webhook, name="stripe_connect_webhook"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/v1/", api.urls),
    # allauth's authenticator set-up page, behind an emailed code for staff (before allauth's own).
    path("accounts/2fa/totp/activate/", mfa_enrolment.activate_totp, name="mfa_activate_totp"),
    path("accounts/", include("allauth.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("frontend.urls")),
]
# Uploaded images: S3 in production; the demo (DEBUG off, see config/settings/local.py) has Django serve them.
if settings.DEBUG or settings.SERVE_MEDIA:
    media = settings.MEDIA_URL.strip("/")
    urlpatterns += [re_path(rf"^{media}/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]

handler400 = "frontend.error_views.bad_request"
handler403 = "frontend.error_views.permission_denied"
handler404 = "frontend.error_views.page_not_found"
handler500 = "frontend.error_views.server_error"
handler429 = "frontend.error_views.too_many_requests"  # not Django's: allauth looks it up here
