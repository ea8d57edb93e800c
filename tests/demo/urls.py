"""The project's URLs plus views that fail as a bug or a lost database would (for the 500 page tests)."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler404, handler500
from config.urls import urlpatterns as project_urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]


def failing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


def database_gone(request: HttpRequest) -> HttpResponse:
    """The database drops this request's connection (on Postgres: the server ends it), then the view
    fails: whatever the error page would read from the database now fails too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    raise RuntimeError("unreachable: the statement above fails")


urlpatterns = [
    path("test-error/", failing_view),
    path("test-error/database/", database_gone),
    path("checkout/test-error/", failing_view),
    *project_urlpatterns,
]
