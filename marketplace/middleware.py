"""Cross-cutting request checks that must hold for every view, whatever its author forgot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from ninja.utils import check_csrf

from marketplace.roles import is_platform_admin

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
API_PREFIX = "/api/"
CONSOLE_PREFIXES = ("/console/", "/django-admin/")
CONSOLE_API_PREFIX = "/api/v1/console/"


NUL = "\x00"
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NUL_IN_INPUT = (
    "This request contains a NUL character (%00), which is not valid in an address or a form. "
    "Check the link, or retype what you entered."
)
# A page's form: the 400 page adds that what was typed is still in the form, and a way back to it.
NUL_IN_FORM = "This form contains a NUL character (%00), which is not valid in a form."
UNREADABLE_FORM = "This form could not be read: it is malformed or too large. Reload the page and try again."
BODY_TOO_LARGE = f"This request's body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes the API reads."
# `REQUEST_BODY_MAX_BYTES` in whole MB, for people.
_CAP_MB = f"{settings.REQUEST_BODY_MAX_BYTES // (1024 * 1024)} MB"
UPLOAD_TOO_LARGE = f"This request is larger than the {_CAP_MB} this site accepts, so it was not read."
FORM_TOO_LARGE = (
    f"This form is larger than the {_CAP_MB} this site accepts, so it was not read: a file in it is too large."
)
NUL_FORM_HINT = (
    "What you typed is still in the form. Go back to it, remove the invalid character (it can come in with "
    "pasted text, and may not show), and send the form again."
)
LARGE_FORM_HINT = "What you typed is still in the form. Go back to it, choose a smaller file, and send the form again."


class RejectUnreadableInputMiddleware:
    """Answer 400, in words, to a NUL character in the path, the query string or a form field, and to a
    form Django cannot parse (a broken multipart body, too many fields, too large) or an API body too
    large to read; and 413, unread, to a body declared larger than `REQUEST_BODY_MAX_BYTES`.

    Postgres refuses NUL in text, so such a value reached the database as a 500 in whichever view read
    it (search, filters, ids in paths, forms). Checking every request once here covers every view,
    present and future. JSON bodies of the API are checked by its schemas (`marketplace.schemas.Text`).
    The API gets the project's error shape; pages get a page that says what is wrong. A page's form
    refused for a NUL in a field gets a way back to the form that keeps what the person typed in it
    (`_back_to_form`): a pasted invisible character must not cost them the whole form.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _declared_length(request) > settings.REQUEST_BODY_MAX_BYTES:
            # Before anything reads the form: Django would parse a multipart body of any size to the
            # end, its files to temporary files (an anonymous POST of 400 MB to `/` was, before its 403).
            if request.path_info.startswith(API_PREFIX):
                return JsonResponse({"error": {"code": "body_too_large", "message": UPLOAD_TOO_LARGE}}, status=413)
            if request.content_type in FORM_CONTENT_TYPES:
                return _back_to_form(request, FORM_TOO_LARGE, hint=LARGE_FORM_HINT, status=413)
            return render(request, "400.html", {"message": UPLOAD_TOO_LARGE}, status=413)
        try:
            nul_in_form = _nul_in_form(request)
        except (MultiPartParserError, SuspiciousOperation):
            # Parsing the form here is what CsrfViewMiddleware would do next; Django's own answer to
            # these errors is a bare 400 page, and for the API not the error shape it documents.
            return _bad_request(request, "unreadable_form", UNREADABLE_FORM)
        nul_in_address = _nul_in_address(request)
        if nul_in_form and not nul_in_address and not request.path_info.startswith(API_PREFIX):
            return _back_to_form(request, NUL_IN_FORM, hint=NUL_FORM_HINT)
        if nul_in_form or nul_in_address:
            return _bad_request(request, "invalid_characters", NUL_IN_INPUT)
        if _api_body(request):
            try:
                request.body  # noqa: B018 - read now, for the size check Django makes when it is read
            except SuspiciousOperation:
                # Over DATA_UPLOAD_MAX_MEMORY_SIZE: read later by the API, it was Django's HTML 400 page.
                return _bad_request(request, "body_too_large", BODY_TOO_LARGE)
        return self.get_response(request)


def _bad_request(request: HttpRequest, code: str, message: str) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse({"error": {"code": code, "message": message}}, status=400)
    return render(request, "400.html", {"message": message}, status=400)


def _declared_length(request: HttpRequest) -> int:
    """The body's length as its Content-Length says (Django reads no more than that, and nothing
    without one); 0 when there is none or it is no number."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    return int(declared) if declared.isascii() and declared.isdigit() else 0


def _back_to_form(request: HttpRequest, message: str, *, hint: str, status: int = 400) -> HttpResponse:
    """The 400 page (or `status`) with "Back to the form" and `hint`, what to change there: the browser's
    Back (history.back(), by `js/history-back.js`), which shows the form again with what was typed in
    it (a new visit of the form's address would show it empty). Without scripts, the button is a link
    to the page the form was sent from, when the Referer names one of this site's pages; never to
    another site."""
    referer = request.headers.get("referer", "")
    same_origin = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    context = {"message": message, "form_hint": hint, "back_to_form": True, "form_url": referer if same_origin else ""}
    return render(request, "400.html", context, status=status)


def _api_body(request: HttpRequest) -> bool:
    """Does the API receive a body it will read whole (JSON: forms are read by `_nul_in_form`)?"""
    return (
        request.path_info.startswith(API_PREFIX)
        and request.method not in SAFE_METHODS
        and request.content_type not in FORM_CONTENT_TYPES
    )


def _nul_in_address(request: HttpRequest) -> bool:
    return NUL in request.path_info or _any_nul(request.GET)


def _nul_in_form(request: HttpRequest) -> bool:
    if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
        # Uploaded files' names need no check: Django drops non-printable characters from them.
        return _any_nul(request.POST)
    return False


def _any_nul(data: QueryDict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in data.lists())


class ApiCsrfMiddleware:
    """Enforce CSRF on every unsafe API call, signed in or not.

    django-ninja marks its views csrf_exempt and checks CSRF only inside cookie-based auth, so an
    operation without auth (or with another auth) would accept a cross-site POST. This closes that
    door for the whole `/api/` tree at once.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if request.method in SAFE_METHODS or not request.path_info.startswith(API_PREFIX):
            return None
        if check_csrf(request) is None:
            return None
        return JsonResponse(
            {"error": {"code": "csrf_failed", "message": "CSRF verification failed. Reload the page and retry."}},
            status=403,
        )


class ApiMethodNotAllowedMiddleware:
    """A method an API path does not take answers 405 in the API's error shape, with its `Allow`.

    ninja answers it itself, as a bare text/html "Method not allowed": the one answer of the API a
    client could not read as `{"error": {"code", "message"}}`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or not request.path_info.startswith(API_PREFIX):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        allowed = ", ".join(sorted(m.strip() for m in response.get("Allow", "").split(",") if m.strip()))
        message = f"This endpoint does not take {request.method}; it takes {allowed or 'other methods'}."
        answer = JsonResponse({"error": {"code": "method_not_allowed", "message": message}}, status=405)
        if allowed:
            answer["Allow"] = allowed
        return answer


class PlatformAdminMfaMiddleware:
    """In production, the console (its pages and its API, `/api/v1/console/`) and Django's admin open
    only to a session that has passed the authenticator app (TOTP, or one of its recovery codes)
    itself. A platform admin without an app is sent to set one up; with one, to type its code
    (allauth's reauthentication page, which comes back here); the API answers 403 `mfa_required`.

    The check once asked whether the admin *had* an app, so any session opened without its code
    stage passed: Django's `login()` in app code or a test, a session remembered from before the app
    was set up, a login stage allauth may grow. It now reads the session's own record of the steps it
    passed (allauth's `get_authentication_records`, which its code stage writes as method "mfa" and
    which belongs to the user it was written for), whatever opened the session.

    Django's admin asks the same of every staff user, in the platform admins' group or not: a
    superuser outside it reached every table with the password alone.

    Paths are matched on `path_info`, what URLs resolve from, as everywhere in this module:
    `request.path` starts with the WSGI SCRIPT_NAME, which gunicorn takes from a `SCRIPT_NAME`
    header of a trusted forwarder, so `/x/console/` with `SCRIPT_NAME: /x` opened the console
    unchecked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        page = request.path_info.startswith(CONSOLE_PREFIXES)
        if (
            settings.PLATFORM_ADMIN_REQUIRE_MFA
            and (page or request.path_info.startswith(CONSOLE_API_PREFIX))
            and (is_platform_admin(request.user) or _staff_in_django_admin(request))
            and not _session_passed_mfa(request)
        ):
            has_app = _has_totp(request.user)
            message = MFA_NOT_PASSED if has_app else MFA_REQUIRED
            if not page:
                return JsonResponse({"error": {"code": "mfa_required", "message": message}}, status=403)
            messages.warning(request, message)
            if not has_app:
                return redirect("mfa_activate_totp")
            return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


MFA_REQUIRED = "Platform admins must set up an authenticator app before using the console."
MFA_NOT_PASSED = "Enter your authenticator app's code: this session has not passed it yet."
DJANGO_ADMIN_PREFIX = "/django-admin/"
# Its login page (which sends to the site's) and logout stay reachable without the app.
DJANGO_ADMIN_OPEN = ("/django-admin/login/", "/django-admin/logout/")


def _staff_in_django_admin(request: HttpRequest) -> bool:
    user = request.user
    return (
        request.path_info.startswith(DJANGO_ADMIN_PREFIX)
        and not request.path_info.startswith(DJANGO_ADMIN_OPEN)
        and bool(user.is_authenticated and user.is_staff and user.is_active)
    )


def console_open_to(request: HttpRequest) -> bool:
    """Would the console open to this request: a platform admin, and with `PLATFORM_ADMIN_REQUIRE_MFA`
    a session that passed the authenticator app (what `PlatformAdminMfaMiddleware` asks). For what
    shows admins more than others outside the console (`/healthz`'s details)."""
    if not is_platform_admin(request.user):
        return False
    return not settings.PLATFORM_ADMIN_REQUIRE_MFA or _session_passed_mfa(request)


def _session_passed_mfa(request: HttpRequest) -> bool:
    from allauth.account.authentication import get_authentication_records

    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def _has_totp(user: Any) -> bool:
    from allauth.mfa.models import Authenticator

    return bool(Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists())
