"""The site's own 405 page (Django has no handler for it, as it has for 403, 404 and 500)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template import loader

from frontend.error_views import ways_back


class MethodNotAllowedPageMiddleware:
    """A visit (GET) to an address that only takes a form gets the site's page instead of Django's
    empty 405. How a buyer gets there: signed out while sending a form (the session ended, another
    tab signed out), `login_required` sends them to sign in with the form's address as `next`, and
    signing in brings them back there with a GET. The API, the webhooks and any 405 with a body of
    its own keep their answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.content or request.path.startswith(("/api/", "/webhooks/")):
            return response
        page = HttpResponse(
            loader.get_template("405.html").render({"ways_back": ways_back(request.path)}, request), status=405
        )
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        return page
