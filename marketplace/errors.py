"""Domain errors. Services raise these; the API maps them once to
`{"error": {"code": ..., "message": ...}}` with `status`, and pages turn them into messages."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class PaymentProviderError(DomainError):
    """Stripe could not be reached or answered with an error we cannot fix by retrying the input."""

    status = 502
    code = "payment_provider_error"


class PaymentProviderNoAnswer(PaymentProviderError):
    """The request went out and its answer never came (a read timeout, a connection dropped mid-answer):
    Stripe may have done the work. The same code and sentence as its parent, for every caller that only
    knows Stripe failed; one that knows what the call was for can say so, and a retry with the same
    idempotency key gets Stripe's first answer."""


class CardDeclined(DomainError):
    status = 402
    code = "card_declined"
