"""Platform admin pages for disputes: the queue (soonest deadline first, filters), one dispute laid
out as evidence (the order, its shipping and refunds, the seller's statement and files), the
evidence form (draft / submit once, with a confirmation), proof files (and which kind of proof each
is: Stripe takes one file per evidence file field), and accepting the dispute."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from frontend import kept_input
from frontend.decorators import platform_admin_required
from frontend.dispute_uploads import dispute_file_posted
from frontend.downloads import private_file_response
from frontend.form_text import posted_text
from marketplace.errors import DomainError, NotFound
from marketplace.money import LISTING_CURRENCIES
from marketplace.schemas import MAX_ID
from payments import disputes as services
from payments import selectors
from payments.models import REASONS, Dispute, DisputeFileSide, DisputeStatus, RecoveryStatus, reason_label

PAGE_SIZE = 50


def _dispute(dispute_id: int) -> Dispute:
    try:
        return selectors.dispute_for_console(dispute_id=dispute_id)
    except NotFound:
        raise Http404("No such dispute.") from None


@platform_admin_required
@require_GET
def console_disputes(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ""
    if status not in (*DisputeStatus.values, "all"):
        status = ""
    reason = request.GET.get("reason") or ""
    reason = reason if reason in REASONS else ""
    currency = (request.GET.get("currency") or "").strip().lower()
    currency = currency if currency in LISTING_CURRENCIES else ""  # ignored like an unknown status
    try:
        seller_id = int(request.GET["seller"]) if request.GET.get("seller") else None
    except ValueError:
        seller_id = None
    if seller_id is not None and not 1 <= seller_id <= MAX_ID:  # ignored like a non-number (SQLite overflowed)
        seller_id = None
    qs = selectors.disputes_for_console(status=status, reason=reason, seller_id=seller_id, currency=currency)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [
        {
            "d": d,
            "days_left": selectors.days_left(d, now=now),
            "past_deadline": d.is_answerable and d.due_by is not None and d.due_by <= now,
            "complete": selectors.evidence_completeness(d, file_count=getattr(d, "file_count", None)),
        }
        for d in page
    ]
    context = {
        "page": page,
        "rows": rows,
        "status": status,
        "reason": reason,
        "currency": currency,
        "seller_id": seller_id,
        "statuses": DisputeStatus.choices,
        "reasons": [(code, reason_label(code)) for code in sorted(REASONS)],
        "currencies": LISTING_CURRENCIES,  # a choice, as status and reason are: a typed "XYZ" showed nothing
        "sellers": selectors.sellers_with_disputes(),
    }
    return render(request, "console/disputes.html", context)


@platform_admin_required
@require_GET
def console_dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(dispute_id)
    order = dispute.order
    files = list(dispute.files.all())
    for f in files:  # the kind in words: Stripe's field names ("uncategorized_file") mean nothing to people
        f.kind_label = services.FILE_KINDS.get(f.evidence_field, f.evidence_field)  # type: ignore[attr-defined]
    sent = [f for f in files if f.evidence_field != services.NOT_SENT]
    # Stripe still awaits an answer past the deadline, but takes no more evidence: no forms then
    # (as on the seller's page), and no suggestions shown as if they were sent.
    past_deadline = dispute.is_answerable and dispute.due_by is not None and dispute.due_by <= timezone.now()
    answerable = dispute.is_answerable and not past_deadline
    evidence = dict(dispute.evidence)
    # Suggestions for a draft only: once submitted or closed, the page lists what the bank got, and the
    # order's details it suggests were shown there as sent when they never were.
    if answerable and not evidence.get("uncategorized_text") and dispute.seller_statement:
        evidence["uncategorized_text"] = dispute.seller_statement
    if answerable and order is not None:
        evidence.setdefault("shipping_carrier", order.carrier)
        evidence.setdefault("shipping_tracking_number", order.tracking_number)
        if order.fulfilled_at:
            evidence.setdefault("shipping_date", order.fulfilled_at.date().isoformat())
        evidence.setdefault("customer_email_address", order.buyer.email)
        evidence.setdefault("product_description", ", ".join(f"{li.quantity} x {li.title}" for li in order.lines.all()))
    paid_for = dispute.subscription_payment
    if answerable and paid_for is not None:  # a subscription's payment: its subscriber, and what they subscribe to
        evidence.setdefault("customer_email_address", paid_for.subscription.buyer.email)
        interval = "yearly" if paid_for.subscription.interval == "year" else "monthly"
        evidence.setdefault("product_description", f"{paid_for.subscription.listing.title}, a {interval} subscription")
    # A refused save's text, or an unticked confirmation said beside its box; one of them at most.
    kept = kept_input.take(request, f"console_evidence:{dispute.pk}") if answerable else None
    evidence |= {name: kept[name] for name in services.EVIDENCE_TEXT_FIELDS if name in kept} if kept else {}
    kept_accept = kept_input.take(request, f"console_accept:{dispute.pk}") if answerable else None
    fields = [(name, label, evidence.get(name, "")) for name, label in services.EVIDENCE_TEXT_FIELDS.items()]
    context = {
        "dispute": dispute,
        "order": order,
        "lines": list(order.lines.all()) if order else [],
        "payment": dispute.payment,
        "reason_text": services.reason_text(dispute.reason),
        "days_left": selectors.days_left(dispute),
        "complete": selectors.evidence_completeness(dispute, file_count=len(sent)),
        "fields": fields,
        "kept_evidence": kept,
        "kept_accept": kept_accept,
        "file_fields": services.EVIDENCE_FILE_FIELDS,
        "file_kinds": services.FILE_KINDS,
        "max_files": services.MAX_FILES_PER_SIDE,  # at the cap the upload form gives way to a sentence
        "seller_files": [f for f in files if f.side == DisputeFileSide.SELLER],
        "admin_files": [f for f in files if f.side == DisputeFileSide.ADMIN],
        "answerable": answerable,
        "past_deadline": past_deadline,
        "recovery_by_shop": selectors.dispute_recovery_by_shop(dispute=dispute),
        "debt_owed": selectors.dispute_debt_owed(dispute=dispute) if dispute.recovery == RecoveryStatus.DEBT else 0,
    }
    return render(request, "console/disputes_detail.html", context)


@platform_admin_required
@require_POST
def console_dispute_evidence(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(dispute_id)
    evidence = {name: posted_text(request, name) for name in services.EVIDENCE_TEXT_FIELDS}
    submit = request.POST.get("action") == "submit"
    unconfirmed = submit and request.POST.get("confirm") != "yes"
    try:
        # Unconfirmed, it is not sent to the bank, but not lost either: what was typed is the draft.
        services.dispute_evidence_save(dispute=dispute, evidence=evidence, submit=submit and not unconfirmed)
    except DomainError as exc:
        messages.error(request, exc.message)
        # The draft stays as it was: what was typed comes back in the form, to be shortened or fixed.
        kept_input.keep(
            request,
            f"console_evidence:{dispute.pk}",
            services.EVIDENCE_TEXT_FIELDS,
            max_length=services.EVIDENCE_TEXT_MAX,
        )
    else:
        if unconfirmed:  # said beside the box to tick, which the page focuses (`_box_error.html`)
            said = (
                "Saved as a draft, not submitted: tick the confirmation, because evidence can be submitted"
                " to the bank only once."
            )
            kept_input.keep(
                request, f"console_evidence:{dispute.pk}", [], extra={"error": said, "error_box": "confirm"}
            )
        elif submit:
            messages.success(request, "Evidence submitted to the bank. It decides now; we email everyone when it does.")
        else:
            messages.success(request, "Draft saved at Stripe. Nothing was sent to the bank yet.")
    return redirect("console_dispute_detail", dispute_id=dispute.pk)


@platform_admin_required
@require_POST
def console_dispute_file(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(dispute_id)
    dispute_file_posted(
        request,
        dispute,
        side=DisputeFileSide.ADMIN,
        added="{name} attached. It goes to Stripe with the evidence.",
        kept_as="This file is attached already, as {name}: it is kept once.",
    )
    return redirect("console_dispute_detail", dispute_id=dispute.pk)


@platform_admin_required
@require_POST
def console_dispute_file_field(request: HttpRequest, dispute_id: int, file_id: int) -> HttpResponse:
    """Change which kind of proof a file is: Stripe takes one file per evidence file field."""
    dispute = _dispute(dispute_id)
    try:
        upload = services.dispute_file_set_field(
            dispute=dispute, file_id=file_id, evidence_field=request.POST.get("evidence_field", "")
        )
    except NotFound:
        raise Http404("No such file.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if upload.evidence_field == services.NOT_SENT:
            messages.success(request, f"{upload.filename} is kept here and not sent to the bank.")
        else:
            label = services.FILE_KINDS[upload.evidence_field]
            messages.success(request, f"{upload.filename} now goes to the bank as “{label}”.")
    return redirect("console_dispute_detail", dispute_id=dispute.pk)


@platform_admin_required
@require_POST
def console_dispute_accept(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _dispute(dispute_id)
    if request.POST.get("confirm") != "yes":
        # An inquiry's button says "Close inquiry": "accepting a dispute" named something it does not do.
        # Said beside the box to tick, which the page focuses (`_box_error.html`).
        if dispute.status == DisputeStatus.WARNING_NEEDS_RESPONSE:
            said = "Tick the confirmation: closing an inquiry cannot be undone."
        else:
            said = "Tick the confirmation: accepting a dispute cannot be undone."
        kept_input.keep(request, f"console_accept:{dispute.pk}", [], extra={"error": said, "error_box": "confirm"})
        return redirect("console_dispute_detail", dispute_id=dispute.pk)
    try:
        closed = services.dispute_accept(dispute=dispute)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if closed.status == DisputeStatus.WARNING_CLOSED:  # an inquiry: nothing was withdrawn, nothing is lost
            messages.success(request, "Inquiry closed: no money moved. The buyer's bank may still open a dispute.")
        else:
            messages.success(request, "Dispute accepted: it is lost, and the buyer keeps the money.")
    return redirect("console_dispute_detail", dispute_id=dispute.pk)


@platform_admin_required
@require_GET
def console_dispute_file_download(request: HttpRequest, dispute_id: int, file_id: int) -> HttpResponse:
    """Any proof file of the dispute, from the private storage, as a download (frontend/downloads.py)."""
    try:
        upload = selectors.dispute_file_for_console(dispute_id=dispute_id, file_id=file_id)
    except NotFound:
        raise Http404("No such file.") from None
    return private_file_response(upload)


urlpatterns = [
    path("console/disputes/", console_disputes, name="console_disputes"),
    path("console/disputes/<int:dispute_id>/", console_dispute_detail, name="console_dispute_detail"),
    path("console/disputes/<int:dispute_id>/evidence/", console_dispute_evidence, name="console_dispute_evidence"),
    path("console/disputes/<int:dispute_id>/files/", console_dispute_file, name="console_dispute_file"),
    path(
        "console/disputes/<int:dispute_id>/files/<int:file_id>/",
        console_dispute_file_download,
        name="console_dispute_file_download",
    ),
    path(
        "console/disputes/<int:dispute_id>/files/<int:file_id>/field/",
        console_dispute_file_field,
        name="console_dispute_file_field",
    ),
    path("console/disputes/<int:dispute_id>/accept/", console_dispute_accept, name="console_dispute_accept"),
]
