"""The project's URLs plus /media/ served from MEDIA_ROOT the way the demo serves it (`SERVE_MEDIA`,
config/urls.py), reading MEDIA_ROOT at each request so a test's own folder counts: what an anonymous
visitor of the demo can fetch."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.views.static import serve

from config.urls import handler403, handler404, handler500
from config.urls import urlpatterns as project_urlpatterns

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]


def media(request: HttpRequest, path: str) -> HttpResponse:
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [*project_urlpatterns, re_path(r"^media/(?P<path>.*)$", media)]
