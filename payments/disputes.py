"""Writes of disputes: mirror Stripe's dispute, keep the evidence, send it, accept, remind.

Stripe sends `charge.dispute.created`, `.updated`, `.funds_withdrawn`, `.funds_reinstated` and
`.closed` in any order and more than once, so every one of them is only a trigger: `dispute_sync`
re-reads the dispute (and its charge) through the gateway before any row is locked, then writes
Stripe's latest state, posts the balance transactions it lists (each once: `payments.services`) and
queues the emails its new state calls for (outbox keys: each once). A `closed` that arrives first
therefore writes a closed dispute, and the `created` that follows changes nothing.

Evidence goes to Stripe only from here: the admin's draft (`submit=false`) and the one submission
(`submit=true`, refused after the deadline and after a first submission, with a sentence). Files are
kept in the private storage (`marketplace.storage`: never served at a public URL) and uploaded to
Stripe's Files API when evidence is sent, each once (its row remembers the `file_...` id; the
upload's idempotency key is the row's id), under a name with the extension of the type we found.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from marketplace.errors import Conflict, InvalidInput, NotFound, PaymentProviderError, PaymentProviderNoAnswer
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway import disputes as gateway_disputes
from marketplace.gateway.types import Dispute as StripeDispute
from marketplace.money import format_money
from marketplace.outbox.services import outbox_add
from orders.models import Order
from payments.group_recovery import group_orders
from payments.models import (
    CLOSED_DISPUTE_STATUSES,
    DISPUTE_FILE_EXTENSIONS,
    Dispute,
    DisputeFile,
    DisputeStatus,
    Payment,
)
from payments.services import dispute_post_balance_transactions, payment_record_charge
from sellers.models import Seller

# The evidence text fields an admin edits, with Stripe's names, and the file fields a proof can fill.
EVIDENCE_TEXT_FIELDS: dict[str, str] = {
    "product_description": "Product description",
    "customer_name": "Customer name",
    "customer_email_address": "Customer email address",
    "shipping_carrier": "Shipping carrier",
    "shipping_tracking_number": "Shipping tracking number",
    "shipping_date": "Shipping date",
    "shipping_address": "Shipping address",
    "refund_policy_disclosure": "Refund policy disclosure",
    "refund_refusal_explanation": "Why no refund was given",
    "uncategorized_text": "Anything else the bank should read",
}
EVIDENCE_FILE_FIELDS: dict[str, str] = {
    "receipt": "Receipt",
    "customer_communication": "Messages with the customer",
    "shipping_documentation": "Shipping label or proof of delivery",
    "refund_policy": "Refund policy",
    "uncategorized_file": "Other proof",
}
# Not a field of Stripe's: a file the admin keeps out of the evidence. Stripe takes one file per kind
# and there are five kinds, so a sixth file (a seller's extra photos) blocked every save, and files
# cannot be deleted (they are what the seller sent).
NOT_SENT = "not_sent"
FILE_KINDS: dict[str, str] = {**EVIDENCE_FILE_FIELDS, NOT_SENT: "Not sent to the bank"}
EVIDENCE_TEXT_MAX = 20_000  # per field
EVIDENCE_TEXT_TOTAL_MAX = 150_000  # Stripe's limit over all the text fields of a dispute's evidence
MAX_FILE_BYTES = 4 * 1024 * 1024
# Files kept per dispute and side (seller, platform): the bank receives one file of each kind of proof
# (EVIDENCE_FILE_FIELDS), so a few to choose from are plenty, and uploads in a loop cannot fill the storage.
MAX_FILES_PER_SIDE = 10
FILE_TYPES = {  # first bytes -> content type (its extension: `models.DISPUTE_FILE_EXTENSIONS`)
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
REMINDER_DAYS = (5, 2)
# A submission whose answer never came (a read timeout): Stripe may have it. Sent again unchanged, it
# carries the same idempotency key and Stripe answers what it did the first time, never a second one.
ANSWER_LOST_SUBMISSION = (
    "Our payment provider did not answer, so we cannot tell yet whether the bank received the evidence. "
    "It is kept below: submit it again. If it had arrived, it is not sent twice."
)
# Stripe refused a change because it already had a submission (one whose answer was lost, sent with other
# text since): read back from Stripe, the page shows what the bank received.
ALREADY_SUBMITTED_AT_STRIPE = (
    "Stripe already had evidence for this dispute: an earlier submission reached it though its answer was "
    "lost on the way. The bank decides with the evidence shown here; nothing more can be sent."
)

# Stripe's reasons, for people.
REASON_TEXT: dict[str, str] = {
    "fraudulent": "The cardholder says they did not make this payment.",
    "product_not_received": "The buyer says they never received the order.",
    "product_unacceptable": "The buyer says the item was defective, damaged or not as described.",
    "duplicate": "The buyer says they were charged twice for the same order.",
    "subscription_canceled": "The buyer says they canceled and were still charged.",
    "credit_not_processed": "The buyer says they were promised a refund that never came.",
    "unrecognized": "The buyer does not recognise this payment on their statement.",
    "general": "The bank gave no specific reason.",
    "bank_cannot_process": "The bank could not process the payment.",
    "check_returned": "The payment was returned by the bank.",
    "customer_initiated": "The buyer asked their bank to reverse the payment.",
    "debit_not_authorized": "The account holder says the debit was not authorised.",
    "incorrect_account_details": "The bank says the account details were wrong.",
    "insufficient_funds": "The bank says the account did not have enough funds.",
}


def reason_text(reason: str) -> str:
    return REASON_TEXT.get(reason, "The bank disputes this payment.")


def dispute_sync(*, dispute_id: str) -> Dispute:
    """Stripe says something happened to this dispute: re-read it and its charge, then write its
    latest state, post its money and queue the emails of its new state (see the module docstring)."""
    remote = gateway_disputes.dispute_retrieve(dispute_id)
    charge = gateway_checkout.charge_retrieve(remote.charge)
    fee_transactions = [t for t in gateway_disputes.balance_transactions_of(source=remote.id) if t.type == "stripe_fee"]
    order_id = _order_id(charge.metadata)
    with transaction.atomic():
        # The order's row first, as `order_record_charge` and `order_mark_paid` take it: the dispute's
        # row references it (a key-share lock), and taking it after the ledger lock deadlocked with
        # `charge.succeeded` holding the order and waiting for the ledger lock.
        if order_id is not None:
            Order.objects.select_for_update().filter(pk=order_id).values_list("pk", flat=True).first()
        payment = payment_record_charge(charge=charge)
        order = _order_for(payment=payment, order_id=order_id)
        destination = charge.transfer_data.destination if charge.transfer_data is not None else None
        dispute = _apply(remote, payment=payment, order=order, destination=destination)
        dispute_post_balance_transactions(
            dispute_id=remote.id,
            transactions=[*remote.balance_transactions, *fee_transactions],
            lost=remote.status == DisputeStatus.LOST,
        )
        _notify(dispute)
        return dispute


def _order_id(metadata: Mapping[str, str]) -> int | None:
    try:
        return int(metadata["order_id"]) if metadata.get("order_id") else None
    except ValueError:
        return None


def _order_for(*, payment: Payment | None, order_id: int | None) -> Order | None:
    """The order a dispute names: its shop answers for the whole payment. On a payment for several
    shops, the one holding the largest part of what the charge still holds (the oldest among equals):
    the first order, refunded in full, had nothing left at stake, while the shop that did could not
    answer and its items were not those the evidence described."""
    if order_id is not None:
        order = Order.objects.filter(pk=order_id).first()
        if order is not None:
            return order
    if payment is None:
        return None
    orders = list(group_orders(payment_ids=[payment.pk]))
    if orders:
        return max(orders, key=lambda o: o.amount_total - o.refunded)  # type: ignore[attr-defined]
    return Order.objects.filter(payment=payment).order_by("pk").first()


def _when(ts: int | None) -> datetime | None:
    return datetime.fromtimestamp(ts, tz=UTC) if ts else None


def _apply(
    remote: StripeDispute, *, payment: Payment | None, order: Order | None, destination: str | None = None
) -> Dispute:
    """Write Stripe's state of the dispute on its row (created on first sight), under the row lock.

    Its seller is its order's, or for a payment without an order (a subscription's invoice) the
    seller its destination charge paid: that seller kept the money, so it is told and, if the
    dispute is lost, the money is recovered from it like any order's."""
    state: dict[str, Any] = {
        "stripe_charge_id": remote.charge,
        "amount": remote.amount,
        "currency": remote.currency,
        "reason": remote.reason,
        "status": remote.status,
        "due_by": _when(remote.evidence_details.due_by),
        "has_evidence": remote.evidence_details.has_evidence,
        "submission_count": remote.evidence_details.submission_count,
        "past_due": remote.evidence_details.past_due,
        "stripe_created_at": _when(remote.created),
        "dispute_fee": sum(t.fee for t in remote.balance_transactions if t.reporting_category == "dispute"),
    }
    Dispute.objects.bulk_create([Dispute(stripe_id=remote.id, **state)], ignore_conflicts=True)
    dispute = Dispute.objects.select_for_update().get(stripe_id=remote.id)
    for field, value in state.items():
        setattr(dispute, field, value)
    dispute.payment = dispute.payment or payment
    dispute.order = dispute.order or order
    if dispute.order is not None and dispute.seller_id is None:
        dispute.seller_id = dispute.order.seller_id
    if dispute.seller_id is None and destination:
        dispute.seller_id = Seller.objects.filter(stripe_account_id=destination).values_list("pk", flat=True).first()
    if remote.evidence_details.submission_count and dispute.submitted_at is None:
        dispute.submitted_at = timezone.now()
    if remote.status in CLOSED_DISPUTE_STATUSES and dispute.closed_at is None:
        dispute.closed_at = timezone.now()
    dispute.save()
    if payment is not None:
        Payment.objects.filter(pk=payment.pk).update(amount_disputed=remote.amount, dispute_status=remote.status)
    return dispute


def _notify(dispute: Dispute) -> None:
    outbox_add("payments.email.dispute_opened", dispute.pk, key=f"dispute-opened:{dispute.pk}")
    if dispute.status in CLOSED_DISPUTE_STATUSES:
        outbox_add("payments.email.dispute_closed", dispute.pk, key=f"dispute-closed:{dispute.pk}")
    if dispute.status == DisputeStatus.LOST:
        outbox_add("payments.dispute_recover", dispute.pk, key=f"dispute-recover:{dispute.pk}")


# --- Evidence -------------------------------------------------------------------------------------------


def _locked(dispute: Dispute) -> Dispute:
    return Dispute.objects.select_for_update().get(pk=dispute.pk)


def _refuse_unless_answerable(dispute: Dispute, *, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if dispute.submitted_at is not None or dispute.submission_count:
        when = timezone.localtime(dispute.submitted_at).strftime("%-d %B %Y") if dispute.submitted_at else "earlier"
        raise Conflict(
            f"Evidence was already submitted ({when}); Stripe takes one submission per dispute.",
            code="dispute_already_submitted",
        )
    if dispute.accepted_at is not None or dispute.status in CLOSED_DISPUTE_STATUSES:
        raise Conflict("This dispute is closed; nothing more can be sent.", code="dispute_closed")
    if not dispute.is_answerable:
        raise Conflict("This dispute is under review at the bank; nothing more can be sent.", code="dispute_in_review")
    if dispute.due_by is not None and dispute.due_by <= now:
        deadline = timezone.localtime(dispute.due_by).strftime("%-d %B %Y, %H:%M")
        raise Conflict(
            f"The evidence deadline passed ({deadline}); Stripe no longer takes evidence for this dispute.",
            code="dispute_past_deadline",
        )


def clean_evidence(evidence: Mapping[str, Any]) -> dict[str, str]:
    """Only Stripe's text fields we edit, as trimmed strings within the length limits (each field's, and
    Stripe's over all of them: refused here, before the draft is written, not by Stripe after); unknown
    names are refused with their name, so a typo is never silently dropped."""
    unknown = sorted(set(evidence) - set(EVIDENCE_TEXT_FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown evidence field: {', '.join(unknown)}.", code="unknown_evidence_field")
    cleaned: dict[str, str] = {}
    for name, value in evidence.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidInput(f"{EVIDENCE_TEXT_FIELDS[name]} must be text.", code="invalid_evidence")
        if len(value) > EVIDENCE_TEXT_MAX:
            raise InvalidInput(
                f"{EVIDENCE_TEXT_FIELDS[name]} is longer than {EVIDENCE_TEXT_MAX:,} characters.",
                code="evidence_too_long",
            )
        if value.strip():
            cleaned[name] = value.strip()
    total = sum(len(value) for value in cleaned.values())
    if total > EVIDENCE_TEXT_TOTAL_MAX:
        raise InvalidInput(
            f"All the evidence together is {total:,} characters; Stripe takes at most {EVIDENCE_TEXT_TOTAL_MAX:,}."
            " Shorten some of it.",
            code="evidence_too_long",
        )
    return cleaned


def dispute_evidence_save(*, dispute: Dispute, evidence: Mapping[str, Any], submit: bool) -> Dispute:
    """The admin's evidence: saved as a draft at Stripe (`submit=False`), or sent to the bank once
    (`submit=True`). Files not yet at Stripe are uploaded first (each once). Refused after the
    deadline and after a first submission, with a sentence.

    A submission whose answer was lost leaves the evidence here and the dispute open to the next click,
    which sends the same request with the same key (Stripe replays its first answer). A change Stripe
    refuses because it already has a submission (sent with other text since, or a draft) is answered
    from Stripe's own dispute, read back: what the bank received, and a sentence saying so."""
    cleaned = clean_evidence(evidence)
    with transaction.atomic():
        row = _locked(dispute)
        _refuse_unless_answerable(row)
        row.evidence = cleaned
        row.evidence_version += 1
        if submit:
            row.submitted_at = timezone.now()  # claimed before Stripe answers: a second click is refused
        row.save(update_fields=["evidence", "evidence_version", "submitted_at", "updated_at"])
    try:
        # Stripe keeps the evidence fields a request leaves out, so every field we manage is sent:
        # an empty one clears what an earlier draft put there (a text cleared, a file moved away).
        cleared = dict.fromkeys([*EVIDENCE_TEXT_FIELDS, *EVIDENCE_FILE_FIELDS], "")
        payload = {**cleared, **cleaned, **_file_evidence(row)}
        try:
            remote = gateway_disputes.dispute_update(
                dispute_id=row.stripe_id, evidence=payload, submit=submit, version=row.evidence_version
            )
        except InvalidInput:
            _refuse_if_submitted_at_stripe(row)
            raise
        except PaymentProviderNoAnswer as exc:
            if submit:
                raise PaymentProviderNoAnswer(ANSWER_LOST_SUBMISSION) from exc
            raise
    except Exception:
        _release_submission_claim(row)
        raise
    return _after_change(remote)


def _release_submission_claim(row: Dispute) -> None:
    """The submission failed or is not known to have arrived: the dispute is open to the next click
    (whose same request Stripe replays if the first did arrive)."""
    Dispute.objects.filter(pk=row.pk, submission_count=0).update(submitted_at=None)


def _refuse_if_submitted_at_stripe(row: Dispute, *, remote: StripeDispute | None = None) -> None:
    """Stripe refused a change: if it is because Stripe has a submission we never heard of (its answer
    lost), write Stripe's dispute (`remote`, read now if not given) with the evidence the bank
    received, and say so. Otherwise, or if Stripe cannot be read now, return: the caller passes on
    Stripe's refusal."""
    if remote is None:
        try:
            remote = gateway_disputes.dispute_retrieve(row.stripe_id)
        except PaymentProviderError:
            return
    if not remote.evidence_details.submission_count:
        return
    sent = remote.evidence.model_dump()
    Dispute.objects.filter(pk=row.pk).update(
        evidence={name: sent[name] for name in EVIDENCE_TEXT_FIELDS if sent.get(name)}
    )
    _after_change(remote)
    raise Conflict(ALREADY_SUBMITTED_AT_STRIPE, code="dispute_already_submitted")


def dispute_accept(*, dispute: Dispute) -> Dispute:
    """Accept the dispute at Stripe (`close`): it is lost, for good. Refused once submitted or closed,
    and while a submission is on its way (`submitted_at` is claimed before Stripe answers, the status
    still "needs response"): Stripe closes a dispute under review too, losing the evidence just sent.
    For the same reason Stripe's dispute is read first: a submission whose answer was lost left ours
    open, and accepting then lost the dispute the evidence had reached Stripe for."""
    with transaction.atomic():
        row = _locked(dispute)
        if row.status in CLOSED_DISPUTE_STATUSES or row.accepted_at is not None:
            raise Conflict("This dispute is closed already.", code="dispute_closed")
        submitted = row.submitted_at is not None or row.submission_count
        if submitted or row.status not in (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE):
            raise Conflict("Evidence was submitted: the bank decides now.", code="dispute_in_review")
        row.accepted_at = timezone.now()
        row.save(update_fields=["accepted_at", "updated_at"])
    try:
        current = gateway_disputes.dispute_retrieve(row.stripe_id)
        if current.evidence_details.submission_count:
            Dispute.objects.filter(pk=row.pk).update(accepted_at=None)
            _refuse_if_submitted_at_stripe(row, remote=current)
        remote = gateway_disputes.dispute_close(dispute_id=row.stripe_id)
    except Exception:
        Dispute.objects.filter(pk=row.pk).exclude(status=DisputeStatus.LOST).update(accepted_at=None)
        raise
    return _after_change(remote)


def _after_change(remote: StripeDispute) -> Dispute:
    """Apply what Stripe answered at once (the events will say the same later)."""
    fee_transactions = [t for t in gateway_disputes.balance_transactions_of(source=remote.id) if t.type == "stripe_fee"]
    with transaction.atomic():
        payment = Payment.objects.filter(stripe_charge_id=remote.charge).first()
        dispute = _apply(remote, payment=payment, order=None)
        dispute_post_balance_transactions(
            dispute_id=remote.id,
            transactions=[*remote.balance_transactions, *fee_transactions],
            lost=remote.status == DisputeStatus.LOST,
        )
        _notify(dispute)
        return dispute


def _file_evidence(dispute: Dispute) -> dict[str, str]:
    """Upload the dispute's files Stripe does not have yet (each once) and map them to their evidence
    fields. Stripe takes one file per field: two files on one field are refused with a sentence."""
    by_field: dict[str, DisputeFile] = {}
    for upload in dispute.files.exclude(evidence_field=NOT_SENT):
        if upload.evidence_field in by_field:
            raise InvalidInput(
                f"Two files are set as “{EVIDENCE_FILE_FIELDS[upload.evidence_field]}”; Stripe takes one file "
                "per kind of proof. Choose another kind for one of them, or keep one here, not sent.",
                code="evidence_file_field_taken",
            )
        by_field[upload.evidence_field] = upload
    out: dict[str, str] = {}
    for field, upload in by_field.items():
        if not upload.stripe_file_id:
            with upload.file.open("rb") as fh:
                content = fh.read()
            stripe_file = gateway_disputes.file_create(
                upload_id=upload.pk, filename=upload.download_name, content=content
            )
            DisputeFile.objects.filter(pk=upload.pk).update(stripe_file_id=stripe_file.id)
            upload.stripe_file_id = stripe_file.id
        out[field] = upload.stripe_file_id
    return out


def _display_name(name: str | None, extension: str) -> str:
    """The uploader's name for the file, to show to people: its last path part, without control
    characters or quotes, at most 200 characters; never used to store or serve the file."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in '"<>').strip(" .")
    return (cleaned or f"proof.{extension}")[:200]


class DisputeFileAdded(NamedTuple):
    file: DisputeFile
    created: bool  # False: the dispute had these bytes already, and `file` is that row


def dispute_file_add(
    *, dispute: Dispute, upload: UploadedFile, user: Any, side: str, evidence_field: str = ""
) -> DisputeFileAdded:
    """Keep one proof file (PDF, PNG or JPEG, found from its first bytes, at most 4 MB, at most
    MAX_FILES_PER_SIDE of them per side, counted under the dispute's lock) in the
    private storage, under a random name with the extension of that type: whatever the uploader
    called it, it is served only as that type, as a download, through the checked views. The
    seller's files and the admin's wait here until the admin sends the evidence.

    The same bytes sent again (a second click while the first upload was on its way, a form sent
    again, a retry) answer the file already kept, under the same lock: a second copy counted towards
    the cap and went to the bank as the same kind of proof, which refused every save of the
    evidence until an admin moved one away."""
    field = evidence_field or "uncategorized_file"
    if field not in EVIDENCE_FILE_FIELDS:
        raise InvalidInput(f"Unknown kind of proof: {field}.", code="unknown_evidence_field")
    size = upload.size or 0
    if size > MAX_FILE_BYTES:
        raise InvalidInput("Files must be 4 MB or smaller.", code="file_too_large")
    if size == 0:
        raise InvalidInput("The file is empty.", code="file_empty")
    head = upload.read(8)
    upload.seek(0)
    content_type = next((v for magic, v in FILE_TYPES.items() if head.startswith(magic)), None)
    if content_type is None:
        raise InvalidInput("Only PDF, PNG and JPEG files can be sent as proof.", code="file_type")
    with transaction.atomic():
        row = _locked(dispute)
        _refuse_unless_answerable(row)
        if DisputeFile.objects.filter(dispute=row, side=side).count() >= MAX_FILES_PER_SIDE:
            raise InvalidInput(
                f"You can upload at most {MAX_FILES_PER_SIDE} files to a dispute: the bank receives one file "
                "of each kind of proof.",
                code="too_many_files",
            )
        kept = _same_file(row, upload, size=size, content_type=content_type)
        if kept is not None:
            return DisputeFileAdded(kept, created=False)
        name = _display_name(upload.name, DISPUTE_FILE_EXTENSIONS[content_type])
        created = DisputeFile.objects.create(
            dispute=row,
            side=side,
            evidence_field=field,
            file=upload,
            filename=name,
            content_type=content_type,
            size=size,
            uploaded_by=user,
        )
        return DisputeFileAdded(created, created=True)


def _same_file(dispute: Dispute, upload: UploadedFile, *, size: int, content_type: str) -> DisputeFile | None:
    """The dispute's file with exactly these bytes, from either side, if any (compared only with
    files of the same size and type: at most 2 x MAX_FILES_PER_SIDE files of at most 4 MB)."""
    candidates = list(DisputeFile.objects.filter(dispute=dispute, size=size, content_type=content_type))
    if not candidates:
        return None
    upload.seek(0)
    content = upload.read()
    upload.seek(0)
    for kept in candidates:
        with kept.file.open("rb") as fh:
            if fh.read() == content:
                return kept
    return None


def dispute_file_set_field(*, dispute: Dispute, file_id: int, evidence_field: str) -> DisputeFile:
    """The admin changes which kind of proof a file is (Stripe takes one file per evidence file field).
    A file already at Stripe keeps its `file_...` id: the field is only where it goes when the evidence
    is sent; `NOT_SENT` keeps it out of the evidence. Refused after the submission and once the
    dispute is closed, with a sentence."""
    if evidence_field not in FILE_KINDS:
        raise InvalidInput(f"Unknown kind of proof: {evidence_field}.", code="unknown_evidence_field")
    with transaction.atomic():
        row = _locked(dispute)
        upload = DisputeFile.objects.select_for_update().filter(pk=file_id, dispute=row).first()
        if upload is None:
            raise NotFound("No such file on this dispute.", code="dispute_file_not_found")
        _refuse_unless_answerable(row)
        upload.evidence_field = evidence_field
        upload.save(update_fields=["evidence_field"])
        return upload


def dispute_statement_save(*, dispute: Dispute, statement: str) -> Dispute:
    """The seller's account of what happened, until the evidence is sent."""
    text = statement.strip()
    if not text:
        raise InvalidInput("Write what happened before saving.", code="statement_empty")
    if len(text) > EVIDENCE_TEXT_MAX:
        raise InvalidInput(f"Keep it under {EVIDENCE_TEXT_MAX:,} characters.", code="statement_too_long")
    with transaction.atomic():
        row = _locked(dispute)
        _refuse_unless_answerable(row)
        row.seller_statement = text
        row.seller_statement_at = timezone.now()
        row.save(update_fields=["seller_statement", "seller_statement_at", "updated_at"])
        return row


# --- Reminders ------------------------------------------------------------------------------------------


def disputes_send_reminders(*, now: datetime | None = None) -> int:
    """The beat job: for each dispute still awaiting evidence whose deadline is within 5 (then 2)
    days, queue one reminder to the seller and the admins. The outbox key makes each reminder once,
    however often the job runs."""
    now = now or timezone.now()
    queued = 0
    windows = zip(REMINDER_DAYS, (*REMINDER_DAYS[1:], 0), strict=True)  # (5, 2], (2, 0]: never both at once
    for days, after in windows:
        due = Dispute.objects.filter(
            status__in=(DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE),
            submitted_at__isnull=True,
            due_by__gt=now + timedelta(days=after),
            due_by__lte=now + timedelta(days=days),
        )
        for dispute_id in due.values_list("pk", flat=True):
            with transaction.atomic():
                key = f"dispute-reminder:{dispute_id}:{days}"
                if outbox_add("payments.email.dispute_reminder", dispute_id, days, key=key):
                    queued += 1
    return queued


def platform_admin_emails() -> list[str]:
    users = get_user_model().objects.filter(
        Q(groups__name=settings.PLATFORM_ADMINS_GROUP), is_staff=True, is_active=True
    )
    return sorted(set(users.values_list("email", flat=True)))


def amount_text(dispute: Dispute) -> str:
    return format_money(dispute.amount, dispute.currency)
