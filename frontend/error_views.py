"""The site's own 400, 403, 404, 429 and 500 pages, in its layout, each with a way back (`config.urls` names
them; `CSRF_FAILURE_VIEW` names the 403 of a form sent with a stale or missing CSRF token, which
Django would otherwise answer with its own bare page; allauth answers a rate limit with the 429 that
`config.urls.handler429` names, else with a bare page of its own).

403 and 404 render with the request, so the header knows who is signed in. 500 renders without it: what
failed may be the database or the session, and the error page must not fail the same way; if even
its template fails, a plain page with a link home goes out. Under `/api/` they answer in the API's
error shape instead of HTML.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.urls import Resolver404, reverse
from django.views import defaults

logger = logging.getLogger(__name__)

# Path prefix -> the way back that fits the part of the site the visitor was in.
_AREAS = (
    ("/sell/", "Your shop", "sell_home"),
    ("/console/", "Admin console", "console_home"),
    ("/orders/", "Your orders", "order_list"),
    ("/checkout/", "Your orders", "order_list"),
    ("/cart/", "Your cart", "cart"),
)
PAID_NOTE = "If you have just paid, your payment is safe: your order shows it as soon as Stripe confirms it."


def ways_back(path: str) -> list[tuple[str, str]]:
    """Links out of an error page: the area's own page first, then the storefront."""
    links = [(label, reverse(name)) for prefix, label, name in _AREAS if path.startswith(prefix)][:1]
    return [*links, ("Back to the storefront", reverse("home"))]


def _api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _api_error(404, "not_found", "No such endpoint.")
    # A view's own Http404 sentence ("No such order.") says more than the generic one; the
    # resolver's (no URL matched) carries a dict for the debug page, not a sentence.
    message = ""
    if isinstance(exception, Http404) and not isinstance(exception, Resolver404) and exception.args:
        message = str(exception.args[0]) if isinstance(exception.args[0], str) else ""
    template = loader.get_template("404.html")
    context = {"message": message, "ways_back": ways_back(request.path)}
    return HttpResponse(template.render(context, request), status=404)


BAD_REQUEST = "This request could not be read: too many parameters, or a host name this site does not answer to."


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """What Django refuses before any view (`SuspiciousOperation`: more parameters than
    DATA_UPLOAD_MAX_NUMBER_FIELDS, a Host not in ALLOWED_HOSTS). The page is Django's own view of our
    400.html; the API answers in its error shape."""
    if request.path.startswith("/api/"):
        return _api_error(400, "bad_request", BAD_REQUEST)
    return defaults.bad_request(request, exception or Exception())


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _api_error(403, "forbidden", "You are not allowed to do this.")
    return _forbidden(request, "403.html")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form whose CSRF token no longer matches (a tab left open across a log-out or a new
    session, or a cookie the browser dropped): say so and how to retry, never Django's bare page.
    The reason is logged by Django; it is for us, not for the visitor."""
    if request.path.startswith("/api/"):
        return _api_error(403, "csrf_failed", "CSRF verification failed. Reload the page and retry.")
    return _forbidden(request, "403_csrf.html")


def _forbidden(request: HttpRequest, template_name: str) -> HttpResponse:
    context = {"ways_back": ways_back(request.path)}
    return HttpResponse(loader.get_template(template_name).render(context, request), status=403)


def too_many_requests(request: HttpRequest) -> HttpResponse:
    """An allauth rate limit (password-reset emails asked too often, sign-in pages sent too fast)."""
    context = {"ways_back": ways_back(request.path)}
    return HttpResponse(loader.get_template("429.html").render(context, request), status=429)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _api_error(500, "server_error", "Something went wrong on our side; try again in a moment.")
    context = {
        "ways_back": ways_back(request.path),
        "note": PAID_NOTE if request.path.startswith("/checkout/") else "",
    }
    try:
        body = loader.get_template("500.html").render(context)  # no request: no context processors
    except Exception:
        logger.exception("the 500 page itself failed to render")
        body = (
            '<!DOCTYPE html><html lang="en"><title>Server error · Marketplace</title>'
            '<h1>Something went wrong on our side</h1><p><a href="/">Back to the storefront</a></p></html>'
        )
    return HttpResponse(body, status=500)
