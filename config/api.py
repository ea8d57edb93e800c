"""The one NinjaAPI of the project, mounted at /api/v1/ with a router per app.

Authentication is the Django session; CSRF is enforced on every unsafe method by
`marketplace.middleware.ApiCsrfMiddleware` (ninja alone only checks it inside cookie auth).
Domain errors are mapped here, once, to `{"error": {"code", "message"}}`; the OpenAPI document lists,
for every operation, the errors it can answer in that shape: the ones its router declares
(`marketplace.schemas.errors`) and the ones every operation shares, added here (`_document_common_errors`).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import REF_TEMPLATE, NinjaGenerateJsonSchema, OpenAPISchema
from ninja.parser import Parser
from ninja.security import SessionAuth

from catalog.api import cart_router, public_router, seller_router
from marketplace.api import router as marketplace_router
from marketplace.errors import DomainError
from marketplace.schemas import ErrorOut
from orders.api import router as orders_router
from payments.api import router as payments_router
from payments.revenue_api import router as console_revenue_router
from payouts.api import router as payouts_router
from sellers.api import router as sellers_router


class AccessibleSwagger(Swagger):
    """ninja's Swagger UI page, served from our own template (`api/docs.html`: a page language and
    contrast fixes), without deep links: Swagger puts each one as a link inside the operation's
    expand button, an interactive control nested in another that screen readers cannot reach."""

    template = "api/docs.html"
    default_settings = {**Swagger.default_settings, "deepLinking": False}


UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})
COMMON_ERRORS = {
    "400": "A NUL character in the request, or a body that cannot be parsed (not a JSON object, a broken form).",
    "401": "Not signed in.",
    "403": "CSRF check failed: send the `csrftoken` cookie's value in `X-CSRFToken`.",
    "422": "Invalid input: `error.fields` says which.",
}


def _document_common_errors(schema: OpenAPISchema) -> None:
    """Add to every operation the errors that come from outside its own code: the NUL check and
    the JSON parser (400, all), the session auth (401, signed-in operations), the CSRF check
    (403, unsafe methods) and validation (422, operations that take input)."""
    error_schema = ErrorOut.model_json_schema(
        ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema, mode="serialization"
    )
    schema["components"]["schemas"].update(error_schema.pop("$defs", {}), ErrorOut=error_schema)
    content = {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorOut")}}}
    for methods in schema["paths"].values():
        for method, operation in methods.items():
            applies = {
                "400": True,
                "401": bool(operation.get("security")),
                "403": method in UNSAFE_METHODS,
                "422": bool(operation.get("parameters") or operation.get("requestBody")),
            }
            for status, description in COMMON_ERRORS.items():
                # An operation may declare the same status itself (as an int key): one entry, not two.
                if applies[status] and int(status) not in operation["responses"]:
                    operation["responses"].setdefault(status, {"description": description, "content": content})


class ObjectBodyParser(Parser):
    """JSON bodies are objects. ninja hands a body to the operation's schema as it parsed it, and a
    schema reads a non-object's attributes: `"hello world"` as a listing's patch set its title to
    `str.title()`'s "Hello World", and `null` as dispute evidence wiped the draft. Anything but an
    object is now refused before the schema sees it: ninja answers 400, "Cannot parse request body"."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("the body is not a JSON object")
        return data


class MarketplaceApi(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        _document_common_errors(schema)
        return schema


api = MarketplaceApi(
    title="Marketplace API",
    version="1",
    urls_namespace="api-v1",
    docs=AccessibleSwagger(),
    docs_url="/docs",
    auth=SessionAuth(),
    parser=ObjectBodyParser(),
)


def _error(request: HttpRequest, status: int, code: str, message: str, **extra: object) -> HttpResponse:
    body: dict[str, object] = {"code": code, "message": message, **extra}
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # Only what a client needs: pydantic's `ctx` may hold the exception object, which is not JSON.
    fields = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors
    ]
    return _error(request, 422, "invalid_input", "Some fields are not valid.", fields=fields)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "not_authenticated", "Sign in to use this endpoint.")


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http_error", str(exc))


api.add_router("/", marketplace_router)
api.add_router("/", sellers_router)
api.add_router("/", public_router)  # listings (catalog)
api.add_router("/", seller_router)  # seller/listings (catalog)
api.add_router("/", cart_router)  # cart (catalog)
api.add_router("/", orders_router)
api.add_router("/", payments_router)  # disputes: console/disputes, seller/disputes
api.add_router("/", payouts_router)  # seller/balance, seller/payouts
api.add_router("/", console_revenue_router)  # console/revenue
