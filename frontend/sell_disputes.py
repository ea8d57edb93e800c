"""The seller's side of disputes: their own disputes with the deadline, and one dispute where they
write what happened and upload proof (PDF, PNG, JPEG) until the admins send the evidence, and download
the proof they uploaded. Another seller's dispute is a 404; sellers never send anything to Stripe
themselves."""

from __future__ import annotations

from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from frontend import kept_input
from frontend.dispute_uploads import dispute_file_posted
from frontend.downloads import private_file_response
from frontend.form_text import posted_text
from marketplace.errors import DomainError, NotFound
from orders.models import Order
from payments import disputes as services
from payments import selectors
from payments.models import Dispute, DisputeFileSide
from sellers.models import Seller
from sellers.selectors import seller_for_user


def _seller(request: HttpRequest) -> Seller:
    try:
        return seller_for_user(user=request.user)
    except NotFound:
        raise Http404("You don't have a shop yet.") from None


def _own(request: HttpRequest, dispute_id: int) -> tuple[Seller, Dispute]:
    seller = _seller(request)
    try:
        return seller, selectors.dispute_for_seller(seller=seller, dispute_id=dispute_id)
    except NotFound:
        raise Http404("No such dispute.") from None


def _answers(seller: Seller, dispute: Dispute) -> bool:
    """Only the seller the dispute names writes its side: a dispute on a payment for several shops
    has one statement for the bank, and the other shops see it read-only."""
    return dispute.seller_id == seller.pk


def _not_yours(request: HttpRequest, dispute: Dispute) -> HttpResponse:
    shop = dispute.seller.shop_name if dispute.seller else "the platform"
    messages.error(request, f"{shop} answers this dispute for the whole payment; you can read it here.")
    return redirect("sell_dispute_detail", dispute_id=dispute.pk)


@login_required
@require_GET
def sell_disputes(request: HttpRequest) -> HttpResponse:
    seller = _seller(request)
    disputes = list(selectors.disputes_for_seller(seller=seller)[:100])
    # A dispute names the order of the shop that answers it: this shop's own order of the payment is the
    # one it knows. A payment for several shops says so beside its amount, the whole payment's, also to
    # the shop that answers (its row read "Order 8 ¥26,400" of a ¥2,400 order). One query for the page.
    paid = [d.payment_id for d in disputes if d.payment_id is not None]
    own_order: dict[int | None, int] = {}
    shops_paid: Counter[int | None] = Counter()
    for payment_id, order_id, shop_id in Order.objects.filter(payment_id__in=paid).values_list(
        "payment_id", "pk", "seller_id"
    ):
        shops_paid[payment_id] += 1
        if shop_id == seller.pk:
            own_order[payment_id] = order_id
    now = timezone.now()
    rows = [
        {
            "d": d,
            "days_left": selectors.days_left(d),
            "own_order": own_order.get(d.payment_id),
            "several_shops": shops_paid[d.payment_id] > 1,
            "past_deadline": d.is_answerable and d.due_by is not None and d.due_by <= now,
        }
        for d in disputes
    ]
    debts = selectors.seller_debts_outstanding(seller=seller)
    return render(request, "sell/disputes.html", {"seller": seller, "rows": rows, "debts": debts})


@login_required
@require_GET
def sell_dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    seller, dispute = _own(request, dispute_id)
    part = selectors.dispute_part_for_seller(dispute=dispute, seller=seller)
    # Stripe still awaits an answer past the deadline, but takes no more evidence: no forms then.
    past_deadline = dispute.is_answerable and dispute.due_by is not None and dispute.due_by <= timezone.now()
    files = [f for f in dispute.files.all() if f.side == DisputeFileSide.SELLER]
    for f in files:  # what each shows, as chosen at upload or moved since by the platform's team
        f.kind_label = services.FILE_KINDS.get(f.evidence_field, f.evidence_field)  # type: ignore[attr-defined]
    context = {
        "seller": seller,
        "dispute": dispute,
        "part": part,
        "debt": selectors.seller_dispute_debt(dispute=dispute, seller=seller),
        "answers": _answers(seller, dispute),
        "order": part.order if part else dispute.order,
        "reason_text": services.reason_text(dispute.reason),
        "days_left": selectors.days_left(dispute),
        "files": files,
        "file_fields": services.EVIDENCE_FILE_FIELDS,
        "max_files": services.MAX_FILES_PER_SIDE,  # at the cap the upload form gives way to a sentence
        "answerable": dispute.is_answerable and not past_deadline,
        "past_deadline": past_deadline,
        # The statement as sent when it was refused: in the form again, or, the form gone (the evidence
        # was sent, the deadline passed meanwhile), shown to copy. None: the form shows what is saved.
        "kept_statement": (kept_input.take(request, _statement_form(dispute)) or {}).get("statement"),
    }
    return render(request, "sell/disputes_detail.html", context)


def _statement_form(dispute: Dispute) -> str:
    return f"sell_dispute_statement:{dispute.pk}"


@login_required
@require_POST
def sell_dispute_statement(request: HttpRequest, dispute_id: int) -> HttpResponse:
    seller, dispute = _own(request, dispute_id)
    if not _answers(seller, dispute):
        return _not_yours(request, dispute)
    try:
        services.dispute_statement_save(dispute=dispute, statement=posted_text(request, "statement"))
    except DomainError as exc:
        messages.error(request, exc.message)
        # One character over the limit still comes back whole, for the seller to shorten.
        limit = services.EVIDENCE_TEXT_MAX * 2 + 1
        kept_input.keep(request, _statement_form(dispute), ["statement"], max_length=limit)
    else:
        messages.success(request, "Saved. The platform's team reads it before sending the evidence.")
    return redirect("sell_dispute_detail", dispute_id=dispute.pk)


@login_required
@require_POST
def sell_dispute_file(request: HttpRequest, dispute_id: int) -> HttpResponse:
    seller, dispute = _own(request, dispute_id)
    if not _answers(seller, dispute):
        return _not_yours(request, dispute)
    dispute_file_posted(
        request,
        dispute,
        side=DisputeFileSide.SELLER,
        added="{name} uploaded.",
        kept_as="This file is uploaded already, as {name}: it is kept once.",
    )
    return redirect("sell_dispute_detail", dispute_id=dispute.pk)


@login_required
@require_GET
def sell_dispute_file_download(request: HttpRequest, dispute_id: int, file_id: int) -> HttpResponse:
    """One of the seller's own proof files, from the private storage, as a download: only for the
    shop the dispute names (frontend/downloads.py); any other file is a 404."""
    seller = _seller(request)
    try:
        upload = selectors.dispute_file_for_seller(seller=seller, dispute_id=dispute_id, file_id=file_id)
    except NotFound:
        raise Http404("No such file.") from None
    return private_file_response(upload)


urlpatterns = [
    path("sell/disputes/", sell_disputes, name="sell_disputes"),
    path("sell/disputes/<int:dispute_id>/", sell_dispute_detail, name="sell_dispute_detail"),
    path("sell/disputes/<int:dispute_id>/statement/", sell_dispute_statement, name="sell_dispute_statement"),
    path("sell/disputes/<int:dispute_id>/files/", sell_dispute_file, name="sell_dispute_file"),
    path(
        "sell/disputes/<int:dispute_id>/files/<int:file_id>/",
        sell_dispute_file_download,
        name="sell_dispute_file_download",
    ),
]
