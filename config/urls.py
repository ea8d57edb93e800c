from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from config.api import api
from marketplace.health import healthz
from marketplace.webhooks import views as webhook_views

urlpatterns = [
    # The webhook endpoints first: they take the most requests, and each pattern before them is tried.
    path("webhooks/stripe/", webhook_views.stripe_webhook, name="stripe_webhook"),
    path("webhooks/stripe/connect/", webhook_views.stripe_connect_webhook, name="stripe_connect_webhook"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("accounts/", include("allauth.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("frontend.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
