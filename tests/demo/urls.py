"""The project's URLs plus views that fail as a bug, a lost database or a refusal would (for the error page tests)."""

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler403, handler404, handler500
from config.urls import urlpatterns as project_urlpatterns

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]


def failing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


def database_gone(request: HttpRequest) -> HttpResponse:
    """The database drops this request's connection (on Postgres: the server ends it), then the view
    fails: whatever the error page would read from the database now fails too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    raise RuntimeError("unreachable: the statement above fails")


def forbidden_view(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("staff only")


urlpatterns = [
    path("test-error/forbidden/", forbidden_view),
    path("test-error/", failing_view),
    path("test-error/database/", database_gone),
    path("checkout/test-error/", failing_view),
    *project_urlpatterns,
]
