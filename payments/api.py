"""`/api/v1/console/disputes` (platform admins: the queue, evidence, files, submit, accept) and
`/api/v1/seller/disputes` (a seller's own: statement and files).

Non-admins get 403 on the console's operations; a seller asking for another seller's dispute gets
404, exactly like one that does not exist. The other shops of a payment for several read its dispute
but get 403 writing to it: the shop the dispute names answers for the whole payment, as on the pages.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Router, Status, UploadedFile
from ninja.security import SessionAuth

from marketplace.errors import InvalidInput, PermissionDenied
from marketplace.money import LISTING_CURRENCIES, format_money
from marketplace.roles import is_platform_admin
from marketplace.schemas import Id, Page, errors, paged
from payments import disputes as services
from payments import selectors
from payments.models import REASONS, Dispute, DisputeFileSide, DisputeStatus
from payments.schemas import (
    ConsoleDisputeOut,
    ConsoleDisputePageOut,
    DisputeFileFieldIn,
    DisputeFileOut,
    DisputeOut,
    DisputePageOut,
    EvidenceIn,
    StatementIn,
)
from sellers.selectors import seller_for_user

router = Router(tags=["disputes"])


class PlatformAdminAuth(SessionAuth):
    """The session, and a platform admin behind it: anyone else signed in gets 403 before their input
    is even read (a file upload from a non-admin is refused the same as a read)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and not is_platform_admin(user):
            raise PermissionDenied("Only platform admins can use the console.", code="forbidden")
        return user


ADMIN_AUTH = PlatformAdminAuth()


def _fields(dispute: Dispute, *, sides: tuple[str, ...]) -> dict[str, Any]:
    return {
        "id": dispute.pk,
        "stripe_id": dispute.stripe_id,
        "status": dispute.status,
        "status_label": dispute.get_status_display(),
        "reason": dispute.reason,
        "reason_text": services.reason_text(dispute.reason),
        "currency": dispute.currency,
        "amount": dispute.amount,
        "amount_display": format_money(dispute.amount, dispute.currency),
        "due_by": dispute.due_by,
        "days_left": selectors.days_left(dispute),
        "order_id": dispute.order_id,
        "seller_id": dispute.seller_id,
        "shop_name": dispute.seller.shop_name if dispute.seller else None,
        "submission_count": dispute.submission_count,
        "submitted_at": dispute.submitted_at,
        "closed_at": dispute.closed_at,
        "seller_statement": dispute.seller_statement,
        "files": [
            DisputeFileOut(
                id=f.pk,
                filename=f.filename,
                content_type=f.content_type,
                size=f.size,
                side=f.side,
                evidence_field=f.evidence_field,
                sent_to_stripe=bool(f.stripe_file_id),
            )
            for f in dispute.files.all()
            if f.side in sides
        ],
    }


def dispute_out(dispute: Dispute) -> DisputeOut:
    return DisputeOut(**_fields(dispute, sides=(DisputeFileSide.SELLER,)))


def console_dispute_out(dispute: Dispute) -> ConsoleDisputeOut:
    # From the files `_fields` lists anyway (prefetched by the queue): not one count query per dispute.
    sent = sum(1 for f in dispute.files.all() if f.evidence_field != services.NOT_SENT)
    parts, total = selectors.evidence_completeness(dispute, file_count=sent)
    return ConsoleDisputeOut(
        **_fields(dispute, sides=(DisputeFileSide.SELLER, DisputeFileSide.ADMIN)),
        evidence=dict(dispute.evidence),
        evidence_parts=parts,
        evidence_parts_total=total,
    )


def _console_dispute(request: HttpRequest, dispute_id: int) -> Dispute:
    return selectors.dispute_for_console(dispute_id=dispute_id)


# --- Console ------------------------------------------------------------------------------------------


@router.get(
    "/console/disputes",
    auth=ADMIN_AUTH,
    response={200: ConsoleDisputePageOut, **errors(403, 422)},
    url_name="console_disputes",
)
def console_disputes(
    request: HttpRequest,
    status: str = "",
    reason: str = "",
    currency: str = "",
    seller_id: Id | None = None,
    page: Page = 1,
) -> ConsoleDisputePageOut:
    """Open disputes by default, soonest evidence deadline first; `status=all` for every one.
    100 a page: `page=2` for the next ones, no items past the last (it answered the first 200
    and had no way to the rest)."""
    if status and status not in (*DisputeStatus.values, "all"):
        raise InvalidInput(f"Unknown status: {status}.", code="invalid_status")
    if reason and reason not in REASONS:  # a misspelt reason answered "no disputes"
        raise InvalidInput(f"Unknown reason: {reason}.", code="invalid_reason")
    if currency and currency.lower() not in LISTING_CURRENCIES:  # `xyz` answered "no disputes" too
        supported = ", ".join(LISTING_CURRENCIES)
        raise InvalidInput(
            f"Unknown currency: {currency}. currency must be one of {supported}.", code="invalid_currency"
        )
    qs = selectors.disputes_for_console(status=status, reason=reason, seller_id=seller_id, currency=currency)
    return ConsoleDisputePageOut(**paged(qs.prefetch_related("files"), page, console_dispute_out))


@router.get(
    "/console/disputes/{dispute_id}",
    auth=ADMIN_AUTH,
    response={200: ConsoleDisputeOut, **errors(403, 404)},
    url_name="console_dispute",
)
def console_dispute(request: HttpRequest, dispute_id: int) -> ConsoleDisputeOut:
    return console_dispute_out(_console_dispute(request, dispute_id))


# 409: submitted already, past the deadline, or closed; 502: Stripe could not be reached.
@router.put(
    "/console/disputes/{dispute_id}/evidence",
    auth=ADMIN_AUTH,
    response={200: ConsoleDisputeOut, **errors(403, 404, 409, 502)},
    url_name="console_dispute_evidence",
)
def console_dispute_evidence(request: HttpRequest, dispute_id: int, payload: EvidenceIn) -> ConsoleDisputeOut:
    """Save the evidence as a draft at Stripe (`submit=false`). Fields left out are cleared."""
    dispute = _console_dispute(request, dispute_id)
    services.dispute_evidence_save(dispute=dispute, evidence=payload.model_dump(), submit=False)
    return console_dispute_out(selectors.dispute_for_console(dispute_id=dispute_id))


@router.post(
    "/console/disputes/{dispute_id}/submit",
    auth=ADMIN_AUTH,
    response={200: ConsoleDisputeOut, **errors(403, 404, 409, 502)},
    url_name="console_dispute_submit",
)
def console_dispute_submit(request: HttpRequest, dispute_id: int) -> ConsoleDisputeOut:
    """Send the saved evidence and files to the bank (`submit=true`): once, before the deadline."""
    dispute = _console_dispute(request, dispute_id)
    services.dispute_evidence_save(dispute=dispute, evidence=dispute.evidence, submit=True)
    return console_dispute_out(selectors.dispute_for_console(dispute_id=dispute_id))


@router.post(
    "/console/disputes/{dispute_id}/accept",
    auth=ADMIN_AUTH,
    response={200: ConsoleDisputeOut, **errors(403, 404, 409, 502)},
    url_name="console_dispute_accept",
)
def console_dispute_accept(request: HttpRequest, dispute_id: int) -> ConsoleDisputeOut:
    """Accept the dispute (Stripe's `close`): lost, for good."""
    services.dispute_accept(dispute=_console_dispute(request, dispute_id))
    return console_dispute_out(selectors.dispute_for_console(dispute_id=dispute_id))


@router.post(
    "/console/disputes/{dispute_id}/files",
    auth=ADMIN_AUTH,
    response={201: ConsoleDisputeOut, **errors(403, 404, 409, 422)},
    url_name="console_dispute_files",
)
def console_dispute_file(
    request: HttpRequest, dispute_id: int, file: File[UploadedFile], evidence_field: Form[str] = ""
) -> Status[ConsoleDisputeOut]:
    """Attach a proof file (PDF, PNG, JPEG, at most 4 MB) to an evidence file field."""
    dispute = _console_dispute(request, dispute_id)
    services.dispute_file_add(
        dispute=dispute, upload=file, user=request.user, side=DisputeFileSide.ADMIN, evidence_field=evidence_field
    )
    return Status(201, console_dispute_out(selectors.dispute_for_console(dispute_id=dispute_id)))


@router.patch(
    "/console/disputes/{dispute_id}/files/{file_id}",
    auth=ADMIN_AUTH,
    response={200: ConsoleDisputeOut, **errors(403, 404, 409, 422)},
    url_name="console_dispute_file_field",
)
def console_dispute_file_field(
    request: HttpRequest, dispute_id: int, file_id: int, payload: DisputeFileFieldIn
) -> ConsoleDisputeOut:
    """Change which evidence file field a proof file fills (Stripe takes one file per field)."""
    dispute = _console_dispute(request, dispute_id)
    services.dispute_file_set_field(dispute=dispute, file_id=file_id, evidence_field=payload.evidence_field)
    return console_dispute_out(selectors.dispute_for_console(dispute_id=dispute_id))


# --- Seller -------------------------------------------------------------------------------------------


@router.get("/seller/disputes", response={200: DisputePageOut, **errors(404, 422)}, url_name="seller_disputes")
def seller_disputes(request: HttpRequest, page: Page = 1) -> DisputePageOut:
    """The shop's disputes, newest first, 100 a page (past the last, no items). It answered the
    newest 100 with no way to the older ones."""
    seller = seller_for_user(user=request.user)
    qs = selectors.disputes_for_seller(seller=seller).select_related("seller").prefetch_related("files")
    return DisputePageOut(**paged(qs, page, dispute_out))


@router.put(
    "/seller/disputes/{dispute_id}/statement",
    response={200: DisputeOut, **errors(403, 404, 409, 422)},
    url_name="seller_dispute_statement",
)
def seller_dispute_statement(request: HttpRequest, dispute_id: int, payload: StatementIn) -> DisputeOut:
    seller = seller_for_user(user=request.user)
    dispute = selectors.dispute_answered_by(seller=seller, dispute_id=dispute_id)
    services.dispute_statement_save(dispute=dispute, statement=payload.statement)
    return dispute_out(selectors.dispute_for_seller(seller=seller, dispute_id=dispute_id))


@router.post(
    "/seller/disputes/{dispute_id}/files",
    response={201: DisputeOut, **errors(403, 404, 409, 422)},
    url_name="seller_dispute_files",
)
def seller_dispute_file(
    request: HttpRequest, dispute_id: int, file: File[UploadedFile], evidence_field: Form[str] = ""
) -> Status[DisputeOut]:
    seller = seller_for_user(user=request.user)
    dispute = selectors.dispute_answered_by(seller=seller, dispute_id=dispute_id)
    services.dispute_file_add(
        dispute=dispute, upload=file, user=request.user, side=DisputeFileSide.SELLER, evidence_field=evidence_field
    )
    return Status(201, dispute_out(selectors.dispute_for_seller(seller=seller, dispute_id=dispute_id)))
