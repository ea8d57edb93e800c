"""The project's URLs plus `/one-row/`: a view that reads one row and returns it, through the same
middleware as every page. The storefront's pages are measured against it."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from catalog.models import Category


def one_row(request: HttpRequest) -> HttpResponse:
    row = Category.objects.values("id", "slug", "name").order_by("id").first()
    return JsonResponse(row or {})


urlpatterns = [path("one-row/", one_row), path("", include("config.urls"))]
