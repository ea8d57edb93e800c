"""The one NinjaAPI of the project, mounted at /api/v1/ with a router per app.

Authentication is the Django session; CSRF is enforced on every unsafe method by
`marketplace.middleware.ApiCsrfMiddleware` (ninja alone only checks it inside cookie auth).
Domain errors are mapped here, once, to `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import SessionAuth

from catalog.api import cart_router, public_router, seller_router
from marketplace.api import router as marketplace_router
from marketplace.errors import DomainError
from orders.api import router as orders_router
from sellers.api import router as sellers_router


class AccessibleSwagger(Swagger):
    """ninja's Swagger UI page, served from our own template (`api/docs.html`: a page language and
    contrast fixes), without deep links: Swagger puts each one as a link inside the operation's
    expand button, an interactive control nested in another that screen readers cannot reach."""

    template = "api/docs.html"
    default_settings = {**Swagger.default_settings, "deepLinking": False}


api = NinjaAPI(
    title="Marketplace API",
    version="1",
    urls_namespace="api-v1",
    docs=AccessibleSwagger(),
    docs_url="/docs",
    auth=SessionAuth(),
)


def _error(request: HttpRequest, status: int, code: str, message: str, **extra: object) -> HttpResponse:
    body: dict[str, object] = {"code": code, "message": message, **extra}
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return _error(request, 422, "invalid_input", "Some fields are not valid.", fields=exc.errors)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "not_authenticated", "Sign in to use this endpoint.")


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http_error", str(exc))


api.add_router("/", marketplace_router)
api.add_router("/", sellers_router)
api.add_router("/", public_router)  # listings (catalog)
api.add_router("/", seller_router)  # seller/listings (catalog)
api.add_router("/", cart_router)  # cart (catalog)
api.add_router("/", orders_router)
