"""Stripe's error shape, raised anywhere and rendered once by the server."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An API error with Stripe's HTTP status and JSON body, so SDK clients raise the same exception classes."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}

    def body(self, request_log_url: str | None = None) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            err["param"] = self.param
        if self.decline_code:
            err["decline_code"] = self.decline_code
        if request_log_url:
            err["request_log_url"] = request_log_url
        err.update(self.extra)
        return {"error": err}


def missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    """Stripe's 404 for an id that does not exist in the caller's scope."""
    return StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, message, param=param, code=code)
