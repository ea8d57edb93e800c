"""The admins' side and the seller's side of a dispute, through the API and the pages, against the
sandbox over HTTP: statement and proof from the seller, evidence drafted and submitted once by an
admin (files reach Stripe's Files API once each), refusals with a sentence, accepting, the pages'
query counts and the dispute rate (the files' privacy and S3: test_dispute_files_private.py)."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format

from marketplace.errors import Conflict
from marketplace.gateway import UNREACHABLE
from marketplace.schemas import PER_PAGE
from payments.disputes import (
    EVIDENCE_TEXT_FIELDS,
    EVIDENCE_TEXT_MAX,
    MAX_FILES_PER_SIDE,
    dispute_accept,
    dispute_evidence_save,
)
from payments.models import Dispute, DisputeFile, DisputeStatus, Payment
from tests.factories import make_platform_admin
from tests.orders.conftest import active_seller, signed_in
from tests.payments.helpers import assert_ledger_equals_stripe, process, stripe_balances
from tests.payments.test_disputes import PLATFORM_NET, disputed_order
from tests.payouts.helpers import paid_order

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def pdf(n: int) -> bytes:
    """Another proof, the n-th: the same bytes sent again are kept once (`dispute_file_add`)."""
    return PDF + f"% proof {n}\n".encode()


def png(n: int) -> bytes:
    """Another photo, the n-th (see `pdf`)."""
    return PNG + n.to_bytes(4, "big")


def _stripe() -> stripe.StripeClient:
    from marketplace import gateway

    return gateway.client()


def _opened(sandbox: Any, currency: str = "usd") -> tuple[Any, Any, Dispute]:
    seller, order, events = disputed_order(sandbox, currency)
    assert "failed" not in process(events)
    return seller, order, Dispute.objects.get()


def _json(client: Client, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    if method == "get":
        response = client.get(url)
    else:
        response = getattr(client, method)(url, data=json.dumps(body or {}), content_type="application/json")
    return response.status_code, response.json()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_seller_statement_and_proof_then_admin_draft_and_one_submission(sandbox: Any, currency: str) -> None:
    seller, _, dispute = _opened(sandbox, currency)
    seller_client = signed_in(seller.user)
    other = signed_in(active_seller(sandbox, currency=currency, shop="Other shop").user)
    admin = signed_in(make_platform_admin())

    # The seller: its list, its statement and a PDF; another seller sees nothing of it.
    status, body = _json(seller_client, "get", "/api/v1/seller/disputes")
    listed = body["items"]
    assert status == 200 and [d["id"] for d in listed] == [dispute.pk] and listed[0]["days_left"] in (6, 7)
    assert _json(other, "get", "/api/v1/seller/disputes") == (200, {"items": [], "count": 0, "page": 1, "pages": 1})
    url = f"/api/v1/seller/disputes/{dispute.pk}"
    assert _json(other, "put", f"{url}/statement", {"statement": "Not mine"})[0] == 404
    status, body = _json(seller_client, "put", f"{url}/statement", {"statement": "Delivered on the 3rd, signed."})
    assert status == 200 and body["seller_statement"] == "Delivered on the 3rd, signed."
    upload = SimpleUploadedFile("label.pdf", PDF, content_type="application/pdf")
    r = seller_client.post(f"{url}/files", {"file": upload, "evidence_field": "shipping_documentation"})
    assert r.status_code == 201 and r.json()["files"][0]["filename"] == "label.pdf"
    fake = SimpleUploadedFile("notes.pdf", b"just text, not a PDF", content_type="application/pdf")
    r = seller_client.post(f"{url}/files", {"file": fake})
    assert r.status_code == 422 and r.json()["error"]["message"] == "Only PDF, PNG and JPEG files can be sent as proof."
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (4 * 1024 * 1024), content_type="application/pdf")
    assert seller_client.post(f"{url}/files", {"file": big}).json()["error"]["message"] == (
        "Files must be 4 MB or smaller."
    )

    # Non-admins: 403 on the console's API.
    console = f"/api/v1/console/disputes/{dispute.pk}"
    assert _json(seller_client, "get", "/api/v1/console/disputes")[0] == 403
    assert _json(seller_client, "post", f"{console}/submit")[0] == 403

    # The admin: the queue, a draft (nothing sent to the bank), a photo, the submission.
    status, body = _json(admin, "get", "/api/v1/console/disputes?status=needs_response")
    queue = body["items"]
    assert status == 200 and [d["id"] for d in queue] == [dispute.pk]
    assert queue[0]["seller_statement"] == "Delivered on the 3rd, signed."
    evidence = {"product_description": "A stoneware mug", "shipping_carrier": "UPS", "uncategorized_text": "Signed."}
    status, body = _json(admin, "put", f"{console}/evidence", evidence)
    assert status == 200 and body["evidence"] == evidence and body["submission_count"] == 0
    at_stripe = _stripe().v1.disputes.retrieve(dispute.stripe_id)
    assert at_stripe.status == "needs_response" and at_stripe.evidence.shipping_carrier == "UPS"
    photo = SimpleUploadedFile("mug.png", PNG, content_type="image/png")
    assert admin.post(f"{console}/files", {"file": photo, "evidence_field": "receipt"}).status_code == 201

    status, body = _json(admin, "post", f"{console}/submit")
    assert status == 200 and body["status"] == "under_review" and body["submission_count"] == 1
    at_stripe = _stripe().v1.disputes.retrieve(dispute.stripe_id)
    files = {f.evidence_field: f.stripe_file_id for f in DisputeFile.objects.all()}
    assert at_stripe.evidence.shipping_documentation == files["shipping_documentation"] != ""
    assert at_stripe.evidence.receipt == files["receipt"] != ""
    assert at_stripe.evidence.product_description == "A stoneware mug"
    assert len(_stripe().v1.files.list(params={"purpose": "dispute_evidence"}).data) == 2  # each file once

    # Once: a second submission, a new draft, the seller's statement: refused with a sentence.
    status, body = _json(admin, "post", f"{console}/submit")
    assert status == 409 and "Stripe takes one submission per dispute" in body["error"]["message"]
    assert _json(admin, "put", f"{console}/evidence", evidence)[0] == 409
    assert _json(seller_client, "put", f"{url}/statement", {"statement": "More"})[0] == 409
    assert len(_stripe().v1.files.list(params={"purpose": "dispute_evidence"}).data) == 2

    # The countered fee (USD only) is posted; the ledger equals Stripe.
    countered = 1_500 if currency == "usd" else 0
    assert stripe_balances() == {currency: PLATFORM_NET[currency] - 11_500 - countered}
    assert_ledger_equals_stripe()


def test_submission_after_the_deadline_is_refused_with_a_sentence(sandbox: Any) -> None:
    _, _, dispute = _opened(sandbox)
    Dispute.objects.filter(pk=dispute.pk).update(due_by=timezone.now() - timedelta(minutes=1))
    dispute.refresh_from_db()
    with pytest.raises(Conflict, match=r"The evidence deadline passed .*Stripe no longer takes evidence"):
        dispute_evidence_save(dispute=dispute, evidence={"uncategorized_text": "Late"}, submit=True)
    assert _stripe().v1.disputes.retrieve(dispute.stripe_id).evidence_details.submission_count == 0


def test_the_pages_submit_with_a_confirmation_and_winning_evidence_wins(
    sandbox: Any, django_assert_max_num_queries: Any
) -> None:
    seller, order, dispute = _opened(sandbox)
    admin = signed_in(make_platform_admin())
    with django_assert_max_num_queries(8):
        queue = admin.get("/console/disputes/").content.decode()
    assert f'href="/console/disputes/{dispute.pk}/"' in queue and "days left" in queue
    with django_assert_max_num_queries(12):
        page = admin.get(f"/console/disputes/{dispute.pk}/").content.decode()
    assert "The cardholder says they did not make this payment." in page and f"Order {order.pk}" in page

    form = {"uncategorized_text": "winning_evidence", "action": "submit"}
    r = admin.post(f"/console/disputes/{dispute.pk}/evidence/", form, follow=True)
    assert "Saved as a draft, not submitted: tick the confirmation" in r.content.decode()
    assert Dispute.objects.get().submission_count == 0
    # What was typed is kept (it was lost), here and at Stripe, and shown again in the form.
    assert Dispute.objects.get().evidence["uncategorized_text"] == "winning_evidence"
    assert _stripe().v1.disputes.retrieve(dispute.stripe_id).evidence.uncategorized_text == "winning_evidence"
    assert "winning_evidence" in r.content.decode()
    r = admin.post(f"/console/disputes/{dispute.pk}/evidence/", {**form, "confirm": "yes"}, follow=True)
    assert "Evidence submitted to the bank" in r.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == "won"  # Stripe's test-mode winning evidence closes it at once
    # Nothing is due any more: no "days left" in the queue (it showed the countdown still).
    assert 'data-testid="days-left"' not in admin.get("/console/disputes/?status=all").content.decode()
    assert stripe_balances() == {"usd": 680 - 11_500 + 10_000}  # the countered fee came back with the win
    assert_ledger_equals_stripe()

    seller_client = signed_in(seller.user)
    with django_assert_max_num_queries(8):
        listed = seller_client.get("/sell/disputes/").content.decode()
    assert f'href="/sell/disputes/{dispute.pk}/"' in listed
    with django_assert_max_num_queries(8):
        mine = seller_client.get(f"/sell/disputes/{dispute.pk}/").content.decode()
    assert "The bank decided in your favour" in mine


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_closed_dispute_shows_only_the_evidence_there_was_not_the_drafts_suggestions(
    sandbox: Any, currency: str
) -> None:
    _, order, dispute = _opened(sandbox, currency)
    admin = signed_in(make_platform_admin())
    draft = admin.get(f"/console/disputes/{dispute.pk}/").content.decode()
    assert order.buyer.email in draft.split('data-testid="evidence-form"')[1]  # suggested for the draft

    admin.post(f"/console/disputes/{dispute.pk}/accept/", {"confirm": "yes"})
    page = admin.get(f"/console/disputes/{dispute.pk}/").content.decode()

    assert Dispute.objects.get().status == "lost"
    sent = page.split('data-testid="evidence-sent"')[1].split("</section>")[0]
    assert order.buyer.email not in sent and "Customer email address" not in sent
    assert "No written evidence." in sent


def test_the_queue_refuses_an_unknown_reason_rather_than_answering_no_disputes(sandbox: Any) -> None:
    _opened(sandbox, "jpy")
    admin = signed_in(make_platform_admin())
    listed = _json(admin, "get", "/api/v1/console/disputes?reason=fraudulent")[1]["items"]
    assert [d["reason"] for d in listed] == ["fraudulent"]

    status, body = _json(admin, "get", "/api/v1/console/disputes?reason=fraudlent")

    assert status == 422 and body["error"]["message"] == "Unknown reason: fraudlent."


def test_the_queue_refuses_an_unknown_currency_rather_than_answering_no_disputes(sandbox: Any) -> None:
    """`currency=xyz` answered [] (and the page showed an empty queue filtered on it), as if no
    payment in it were disputed; an upper-case code is the same currency."""
    _opened(sandbox, "jpy")
    admin = signed_in(make_platform_admin())
    listed = _json(admin, "get", "/api/v1/console/disputes?currency=JPY")[1]["items"]
    assert [d["currency"] for d in listed] == ["jpy"]

    status, body = _json(admin, "get", "/api/v1/console/disputes?currency=xyz")

    assert status == 422 and body["error"]["code"] == "invalid_currency"
    assert body["error"]["message"].startswith("Unknown currency: xyz. currency must be one of usd,")
    page = admin.get("/console/disputes/", {"currency": "jpx"}).content.decode()
    assert 'data-testid="dispute-row"' in page and 'value="jpx"' not in page  # ignored, like an unknown status
    assert '<option value="jpy" >JPY</option>' in page  # a choice of the currencies sold in, none chosen
    assert '<option value="jpy" selected>JPY</option>' in admin.get("/console/disputes/?currency=JPY").content.decode()


def test_accepting_asks_for_a_confirmation_and_loses_the_dispute(sandbox: Any) -> None:
    _, _, dispute = _opened(sandbox, "jpy")
    admin = signed_in(make_platform_admin())
    r = admin.post(f"/console/disputes/{dispute.pk}/accept/", follow=True)
    assert "Tick the confirmation" in r.content.decode() and Dispute.objects.get().status == "needs_response"
    r = admin.post(f"/console/disputes/{dispute.pk}/accept/", {"confirm": "yes"}, follow=True)
    assert "Dispute accepted" in r.content.decode()
    assert Dispute.objects.get().status == "lost"
    assert _stripe().v1.disputes.retrieve(dispute.stripe_id).status == "lost"
    assert_ledger_equals_stripe()


def test_a_dispute_the_platform_accepted_is_not_told_to_the_seller_as_the_banks_decision(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The admin accepted it, maybe days before the deadline for the seller's side: the seller's email and page
    say the platform gave it up, not that "the bank decided for the buyer"."""
    from django.core import mail

    seller, _, dispute = _opened(sandbox, "usd")
    admin = signed_in(make_platform_admin())
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"/console/disputes/{dispute.pk}/accept/", {"confirm": "yes"})
    assert Dispute.objects.get().status == "lost"
    told = [m.body for m in mail.outbox if m.to == [seller.user.email] and "Dispute lost" in m.subject]
    assert len(told) == 1 and "bank decided" not in told[0]
    assert "The platform accepted the dispute instead of contesting it: $100.00 goes back to the buyer" in told[0]
    page = signed_in(seller.user).get(f"/sell/disputes/{dispute.pk}/").content.decode()
    assert "The platform accepted the dispute instead of contesting it" in page and "bank decided" not in page


def test_the_seller_page_shows_the_dispute_rate_and_the_list_flags_it(sandbox: Any) -> None:
    seller, _, _ = _opened(sandbox)
    admin = signed_in(make_platform_admin())
    page = admin.get(f"/console/sellers/{seller.pk}/").content.decode()
    assert "1 dispute over 1 payment in 90 days (orders and subscription payments): <strong>100%</strong>" in page
    assert 'data-testid="dispute-flag"' in admin.get("/console/sellers/").content.decode()


def test_the_dispute_rate_is_flagged_on_its_exact_value_and_shown_rounded_half_up(sandbox: Any, settings: Any) -> None:
    """1 dispute in 3 payments is 33.333...%: with the threshold at 33.33% it is above it. The flag
    compared the rate cut to whole hundredths of a percent (33.33%, not above), so a shop over the
    threshold went unflagged; and on the console's revenue page 1 dispute in 8 payments read "12%"
    (12.5 rounded half to even), half a point less than the truth."""
    settings.DISPUTE_RATE_THRESHOLD_BPS = 3333
    seller, _, _ = _opened(sandbox)
    paid_order(sandbox, seller, 1_000)
    paid_order(sandbox, seller, 1_000)
    admin = signed_in(make_platform_admin())
    page = admin.get(f"/console/sellers/{seller.pk}/").content.decode()
    assert "1 dispute over 3 payments in 90 days (orders and subscription payments): <strong>33.33%</strong>" in page
    assert "above the threshold" in page
    assert 'data-testid="dispute-flag"' in admin.get("/console/sellers/").content.decode()

    for n in range(5):
        Payment.objects.create(
            stripe_payment_intent_id=f"pi_rate{n}",
            stripe_charge_id=f"ch_rate{n}",
            currency="usd",
            amount=1_000,
            created_at=timezone.now(),
        )
    row = admin.get("/console/revenue/").content.decode().split('data-testid="health-row">', 1)[1].split("</tr>")[0]
    assert re.sub(r"<[^>]+>", " ", row).split()[-3:] == ["8", "0%", "12.5%"]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_two_files_of_one_kind_are_reassigned_by_the_admin_and_then_submitted(sandbox: Any, currency: str) -> None:
    seller, _, dispute = _opened(sandbox, currency)
    seller_client = signed_in(seller.user)
    admin = signed_in(make_platform_admin())
    page = f"/console/disputes/{dispute.pk}"
    console = f"/api/v1/console/disputes/{dispute.pk}"

    # Two files, both "Other proof": the submission is refused with a sentence, nothing sent.
    label = SimpleUploadedFile("label.pdf", PDF, content_type="application/pdf")
    assert seller_client.post(f"/api/v1/seller/disputes/{dispute.pk}/files", {"file": label}).status_code == 201
    photo = SimpleUploadedFile("mug.png", PNG, content_type="image/png")
    admin.post(f"{page}/files/", {"file": photo, "evidence_field": "uncategorized_file"})
    label_row, photo_row = DisputeFile.objects.order_by("pk")
    assert {label_row.evidence_field, photo_row.evidence_field} == {"uncategorized_file"}
    detail = admin.get(f"{page}/").content.decode()
    assert detail.count('data-testid="file-field-form"') == 2
    assert f'action="{page}/files/{photo_row.pk}/field/"' in detail
    r = admin.post(
        f"{page}/evidence/", {"uncategorized_text": "Signed.", "action": "submit", "confirm": "yes"}, follow=True
    )
    assert "Two files are set as “Other proof”; Stripe takes one file per kind of proof." in r.content.decode()
    assert Dispute.objects.get().submitted_at is None
    assert _stripe().v1.disputes.retrieve(dispute.stripe_id).evidence_details.submission_count == 0

    # The page: the photo becomes the receipt; a kind Stripe does not have is refused.
    r = admin.post(f"{page}/files/{photo_row.pk}/field/", {"evidence_field": "receipt"}, follow=True)
    assert "mug.png now goes to the bank as “Receipt”." in r.content.decode()
    r = admin.post(f"{page}/files/{photo_row.pk}/field/", {"evidence_field": "selfie"}, follow=True)
    assert "Unknown kind of proof: selfie." in r.content.decode()
    assert admin.post(f"{page}/files/999999/field/", {"evidence_field": "receipt"}).status_code == 404

    # A draft uploads both files to Stripe; moving one afterwards keeps its Stripe file.
    assert _json(admin, "put", f"{console}/evidence", {"uncategorized_text": "Signed."})[0] == 200
    label_row.refresh_from_db()
    photo_row.refresh_from_db()
    assert label_row.stripe_file_id and photo_row.stripe_file_id
    move = {"evidence_field": "shipping_documentation"}
    assert _json(seller_client, "patch", f"{console}/files/{label_row.pk}", move)[0] == 403
    assert _json(admin, "patch", f"{console}/files/999999", move)[0] == 404
    status, body = _json(admin, "patch", f"{console}/files/{label_row.pk}", {"evidence_field": "nope"})
    assert status == 422 and body["error"]["message"] == "Unknown kind of proof: nope."
    status, body = _json(admin, "patch", f"{console}/files/{label_row.pk}", move)
    assert status == 200
    assert {f["filename"]: (f["evidence_field"], f["sent_to_stripe"]) for f in body["files"]} == {
        "label.pdf": ("shipping_documentation", True),
        "mug.png": ("receipt", True),
    }
    assert DisputeFile.objects.get(pk=label_row.pk).stripe_file_id == label_row.stripe_file_id

    # The submission now goes through, each file under its new field, each uploaded once.
    status, body = _json(admin, "post", f"{console}/submit")
    assert status == 200 and body["status"] == "under_review" and body["submission_count"] == 1
    at_stripe = _stripe().v1.disputes.retrieve(dispute.stripe_id)
    assert at_stripe.evidence.shipping_documentation == label_row.stripe_file_id
    assert at_stripe.evidence.receipt == photo_row.stripe_file_id
    assert not at_stripe.evidence.uncategorized_file
    assert len(_stripe().v1.files.list(params={"purpose": "dispute_evidence"}).data) == 2

    # After the submission: refused with a sentence, and the page offers no form.
    status, body = _json(admin, "patch", f"{console}/files/{label_row.pk}", {"evidence_field": "receipt"})
    assert status == 409 and "Stripe takes one submission per dispute" in body["error"]["message"]
    r = admin.post(f"{page}/files/{label_row.pk}/field/", {"evidence_field": "receipt"}, follow=True)
    assert "Stripe takes one submission per dispute" in r.content.decode()
    assert 'data-testid="file-field-form"' not in r.content.decode()
    assert DisputeFile.objects.get(pk=label_row.pk).evidence_field == "shipping_documentation"
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_more_files_than_kinds_of_proof_can_be_kept_out_of_the_evidence(sandbox: Any, currency: str) -> None:
    """Stripe takes one file per kind, and there are five kinds: a seller who sent six photos left the
    evidence unsendable (every save refused: two files of one kind), and no file could be removed,
    so the dispute was lost by its deadline. A file can now be kept here, not sent."""
    seller, _, dispute = _opened(sandbox, currency)
    seller_client = signed_in(seller.user)
    admin = signed_in(make_platform_admin())
    page, console = f"/console/disputes/{dispute.pk}", f"/api/v1/console/disputes/{dispute.pk}"
    kinds = ["receipt", "customer_communication", "shipping_documentation", "refund_policy", "uncategorized_file"]
    for n, kind in enumerate([*kinds, "uncategorized_file"]):
        photo = SimpleUploadedFile(f"photo{n}.png", png(n), content_type="image/png")
        upload = {"file": photo, "evidence_field": kind}
        assert seller_client.post(f"/api/v1/seller/disputes/{dispute.pk}/files", upload).status_code == 201
    *_, extra = DisputeFile.objects.order_by("pk")

    detail = admin.get(f"{page}/").content.decode()
    assert "(Seller, Other proof)" in detail and "uncategorized_file)" not in detail  # Stripe's names are not shown
    r = admin.post(f"{page}/files/{extra.pk}/field/", {"evidence_field": "not_sent"}, follow=True)
    assert "photo5.png is kept here and not sent to the bank." in r.content.decode()
    assert "(Seller, Not sent to the bank)" in r.content.decode()

    status, body = _json(admin, "post", f"{console}/submit")
    assert status == 200 and body["submission_count"] == 1, body
    at_stripe = _stripe().v1.disputes.retrieve(dispute.stripe_id)
    assert all(getattr(at_stripe.evidence, kind) for kind in kinds)
    assert not DisputeFile.objects.get(pk=extra.pk).stripe_file_id  # never uploaded to Stripe
    assert len(_stripe().v1.files.list(params={"purpose": "dispute_evidence"}).data) == 5
    assert_ledger_equals_stripe()


def test_a_closed_dispute_keeps_its_files_where_they_are(sandbox: Any) -> None:
    seller, _, dispute = _opened(sandbox, "jpy")
    proof = SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf")
    assert (
        signed_in(seller.user).post(f"/api/v1/seller/disputes/{dispute.pk}/files", {"file": proof}).status_code == 201
    )
    admin = signed_in(make_platform_admin())
    admin.post(f"/console/disputes/{dispute.pk}/accept/", {"confirm": "yes"})
    assert Dispute.objects.get().status == "lost"
    upload = DisputeFile.objects.get()
    status, body = _json(
        admin, "patch", f"/api/v1/console/disputes/{dispute.pk}/files/{upload.pk}", {"evidence_field": "receipt"}
    )
    assert status == 409 and body["error"]["message"] == "This dispute is closed; nothing more can be sent."
    r = admin.post(
        f"/console/disputes/{dispute.pk}/files/{upload.pk}/field/", {"evidence_field": "receipt"}, follow=True
    )
    assert "This dispute is closed; nothing more can be sent." in r.content.decode()
    assert DisputeFile.objects.get().evidence_field == "uncategorized_file"


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_evidence_with_a_misspelt_field_is_refused_and_the_draft_kept(sandbox: Any, currency: str) -> None:
    _, _, dispute = _opened(sandbox, currency)
    admin = signed_in(make_platform_admin())
    url = f"/api/v1/console/disputes/{dispute.pk}/evidence"
    assert _json(admin, "put", url, {"uncategorized_text": "Signed for on delivery."})[0] == 200

    status, body = _json(admin, "put", url, {"uncategorised_text": "Signed for on the 3rd.", "submit": True})

    assert status == 422
    assert sorted(f["loc"][-1] for f in body["error"]["fields"]) == ["submit", "uncategorised_text"]
    dispute.refresh_from_db()
    assert dispute.evidence == {"uncategorized_text": "Signed for on delivery."} and dispute.submitted_at is None


def test_evidence_as_long_as_the_text_area_allows_with_line_breaks_is_saved(sandbox: Any) -> None:
    """The browser counts a line break as one character for `maxlength` and submits it as CRLF."""
    _, _, dispute = _opened(sandbox)
    admin = signed_in(make_platform_admin())
    typed = ("Delivered on the 3rd, signed by the buyer." + "." * 57 + "\n") * (EVIDENCE_TEXT_MAX // 100)
    assert len(typed) == EVIDENCE_TEXT_MAX
    form = {"product_description": typed.replace("\n", "\r\n"), "action": "save"}
    r = admin.post(f"/console/disputes/{dispute.pk}/evidence/", form, follow=True)
    assert "Draft saved at Stripe" in r.content.decode()
    assert Dispute.objects.get().evidence["product_description"] == typed.strip()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_evidence_longer_than_stripe_takes_in_all_is_refused_before_the_draft_changes(
    sandbox: Any, currency: str
) -> None:
    """Each box takes 20,000 characters, Stripe 150,000 over all of them. Eight full boxes were kept as the
    draft before Stripe refused them: the page counted 9 parts of evidence Stripe did not have, and drew
    the refused text as the draft. They are refused first now, with the total, and the draft stays."""
    _, _, dispute = _opened(sandbox, currency)
    admin = signed_in(make_platform_admin())
    url = f"/console/disputes/{dispute.pk}/evidence/"
    admin.post(url, {"uncategorized_text": "Signed for on delivery.", "action": "save"})
    dispute.refresh_from_db()
    draft = dispute.evidence
    assert draft["uncategorized_text"] == "Signed for on delivery."
    full = dict.fromkeys(list(EVIDENCE_TEXT_FIELDS)[:8], "x" * EVIDENCE_TEXT_MAX)

    page = admin.post(url, {**full, "action": "save"}, follow=True).content.decode()

    assert "All the evidence together is 160,000 characters; Stripe takes at most 150,000." in page
    assert page.count("x" * EVIDENCE_TEXT_MAX) == 8, "what was typed comes back, to be shortened"
    dispute.refresh_from_db()
    assert dispute.evidence == draft and dispute.evidence_version == 1
    remote = _stripe().v1.disputes.retrieve(dispute.stripe_id)
    assert remote.evidence.uncategorized_text == "Signed for on delivery." and not remote.evidence.shipping_address


def _many_disputes(count: int, *, currency: str, apart: str) -> Any:
    """`count` open disputes `dp_0`... of one new shop, a minute apart in `apart` (`due_by` or
    `stripe_created_at`): to page through."""
    from tests.catalog.factories import SellerFactory

    seller, now = SellerFactory(), timezone.now()
    times = {"due_by": now + timedelta(days=1), "stripe_created_at": now}
    Dispute.objects.bulk_create(
        Dispute(
            stripe_id=f"dp_{n}",
            stripe_charge_id=f"ch_{n}",
            seller=seller,
            amount=1_000,
            currency=currency,
            reason="fraudulent",
            status="needs_response",
            **{**times, apart: times[apart] + timedelta(minutes=n)},
        )
        for n in range(count)
    )
    return seller


def test_the_queue_api_pages_past_the_first_page_of_disputes_in_a_fixed_number_of_queries(
    django_assert_max_num_queries: Any,
) -> None:
    """The queue answered the 200 soonest and no way to the rest: a platform with 201 open disputes
    never saw the one due last through the API. `page` pages it, `PER_PAGE` at a time, like every list."""
    _many_disputes(2 * PER_PAGE + 1, currency="usd", apart="due_by")
    admin = signed_in(make_platform_admin())
    with django_assert_max_num_queries(12):
        status, first = _json(admin, "get", "/api/v1/console/disputes")
    assert status == 200 and len(first["items"]) == PER_PAGE and first["items"][0]["stripe_id"] == "dp_0"
    assert (first["count"], first["pages"]) == (2 * PER_PAGE + 1, 3)
    status, last = _json(admin, "get", "/api/v1/console/disputes?page=3")
    assert status == 200 and [d["stripe_id"] for d in last["items"]] == [f"dp_{2 * PER_PAGE}"]
    assert _json(admin, "get", "/api/v1/console/disputes?page=4")[1]["items"] == []
    for bad in ("0", "-1", "abc", "99999999999999999999"):
        assert _json(admin, "get", f"/api/v1/console/disputes?page={bad}")[0] == 422


def test_a_statement_refused_comes_back_to_the_seller_whole(sandbox: Any) -> None:
    """The seller's account, refused (too long; or the evidence was sent or the deadline passed while
    they wrote it), was lost with the redirect: the page came back empty, or without the form at all."""
    seller, _, dispute = _opened(sandbox)
    client = signed_in(seller.user)
    url = f"/sell/disputes/{dispute.pk}/statement/"

    too_long = "Shipped on the 3rd.\r\n" + "x" * EVIDENCE_TEXT_MAX
    page = client.post(url, {"statement": too_long}, follow=True).content.decode()
    assert f"Keep it under {EVIDENCE_TEXT_MAX:,} characters." in page
    assert f">{too_long}</textarea>" in page
    assert f">{too_long}</textarea>" not in client.get(f"/sell/disputes/{dispute.pk}/").content.decode()  # once

    Dispute.objects.filter(pk=dispute.pk).update(due_by=timezone.now() - timedelta(minutes=1))
    late = "Delivered on the 3rd,\r\nsigned for by the buyer."
    page = client.post(url, {"statement": late}, follow=True).content.decode()
    assert "Stripe no longer takes evidence" in page and 'data-testid="statement-form"' not in page
    assert "Delivered on the 3rd,<br>signed for by the buyer." in page  # to copy

    Dispute.objects.filter(pk=dispute.pk).update(submitted_at=timezone.now())  # an admin sent the evidence
    page = client.post(url, {"statement": late}, follow=True).content.decode()
    assert "Evidence was already submitted" in page and 'data-testid="statement-form"' not in page
    assert 'data-testid="statement-not-saved"' in page
    assert "Delivered on the 3rd,<br>signed for by the buyer." in page
    assert Dispute.objects.get().seller_statement == ""


def test_proof_files_are_capped_per_side_so_a_seller_cannot_fill_the_storage(sandbox: Any) -> None:
    """Each upload (up to 4 MB) was kept, however many: a seller posting in a loop filled the private
    storage. The bank receives one file of each kind of proof, so each side keeps a handful."""
    seller, _, dispute = _opened(sandbox)
    client = signed_in(seller.user)
    url = f"/sell/disputes/{dispute.pk}/files/"
    for n in range(MAX_FILES_PER_SIDE):
        proof = SimpleUploadedFile(f"proof{n}.pdf", pdf(n), content_type="application/pdf")
        assert client.post(url, {"file": proof}).status_code == 302
    one_more = SimpleUploadedFile("one-more.pdf", pdf(100), content_type="application/pdf")
    page = client.post(url, {"file": one_more}, follow=True).content.decode()
    assert f"You can upload at most {MAX_FILES_PER_SIDE} files to a dispute" in page
    again = SimpleUploadedFile("one-more.pdf", pdf(101), content_type="application/pdf")
    api = client.post(f"/api/v1/seller/disputes/{dispute.pk}/files", {"file": again})
    assert (api.status_code, api.json()["error"]["code"]) == (422, "too_many_files")
    assert DisputeFile.objects.filter(dispute=dispute).count() == MAX_FILES_PER_SIDE
    admin = signed_in(make_platform_admin())  # the platform's side is counted apart
    label = SimpleUploadedFile("label.pdf", pdf(102), content_type="application/pdf")
    assert admin.post(f"/api/v1/console/disputes/{dispute.pk}/files", {"file": label}).status_code == 201
    assert DisputeFile.objects.filter(dispute=dispute).count() == MAX_FILES_PER_SIDE + 1


def test_at_the_cap_the_pages_say_so_instead_of_offering_an_upload_every_try_of_which_is_refused(
    sandbox: Any,
) -> None:
    """With 10 files kept, the seller's page still offered the upload form: choose a file, send up to
    4 MB, then read that no more are taken. The admin's page did the same for the platform's side."""
    seller, _, dispute = _opened(sandbox)
    client, admin = signed_in(seller.user), signed_in(make_platform_admin())
    for n in range(MAX_FILES_PER_SIDE - 1):
        proof = SimpleUploadedFile(f"proof{n}.pdf", pdf(n), content_type="application/pdf")
        assert client.post(f"/sell/disputes/{dispute.pk}/files/", {"file": proof}).status_code == 302
        label = SimpleUploadedFile(f"label{n}.pdf", pdf(100 + n), content_type="application/pdf")
        assert admin.post(f"/console/disputes/{dispute.pk}/files/", {"file": label}).status_code == 302
    assert 'data-testid="seller-file-form"' in client.get(f"/sell/disputes/{dispute.pk}/").content.decode()
    assert 'data-testid="admin-file-form"' in admin.get(f"/console/disputes/{dispute.pk}/").content.decode()

    last = SimpleUploadedFile("last.pdf", pdf(98), content_type="application/pdf")
    assert client.post(f"/sell/disputes/{dispute.pk}/files/", {"file": last}).status_code == 302
    last = SimpleUploadedFile("last.pdf", pdf(99), content_type="application/pdf")
    assert admin.post(f"/console/disputes/{dispute.pk}/files/", {"file": last}).status_code == 302
    page = client.get(f"/sell/disputes/{dispute.pk}/").content.decode()
    assert 'data-testid="seller-file-form"' not in page
    assert f"You have uploaded the {MAX_FILES_PER_SIDE} files a dispute takes" in page
    assert 'data-testid="statement-form"' in page  # the statement can still be written
    console = admin.get(f"/console/disputes/{dispute.pk}/").content.decode()
    assert 'data-testid="admin-file-form"' not in console
    assert f"The platform has attached the {MAX_FILES_PER_SIDE} files a dispute takes" in console
    assert 'data-testid="evidence-form"' in console


def test_past_the_deadline_the_seller_page_says_so_instead_of_offering_forms_stripe_refuses(sandbox: Any) -> None:
    """The dispute still awaits an answer at Stripe, so the page kept its statement and proof forms
    (and "0 days left") past the deadline, and every save was then refused."""
    seller, _, dispute = _opened(sandbox)
    client = signed_in(seller.user)
    assert 'data-testid="statement-form"' in client.get(f"/sell/disputes/{dispute.pk}/").content.decode()
    Dispute.objects.filter(pk=dispute.pk).update(due_by=timezone.now() - timedelta(minutes=1))
    page = client.get(f"/sell/disputes/{dispute.pk}/").content.decode()
    assert 'data-testid="statement-form"' not in page and 'data-testid="seller-file-form"' not in page
    assert "The deadline for evidence passed: Stripe takes no more" in page
    assert "days left" not in page and "day left" not in page
    listed = client.get("/sell/disputes/").content.decode()
    assert "Deadline passed" in listed and "0 days left" not in listed


def test_past_the_deadline_the_console_page_says_so_instead_of_offering_forms_stripe_refuses(sandbox: Any) -> None:
    """The admin's page kept the evidence form, the proof upload and each file's kind (and "0 days
    left") past the deadline, as the seller's did: every save, upload and submission was then refused."""
    seller, _, dispute = _opened(sandbox)
    proof = SimpleUploadedFile("label.pdf", PDF, content_type="application/pdf")
    assert signed_in(seller.user).post(f"/sell/disputes/{dispute.pk}/files/", {"file": proof}).status_code == 302
    admin = signed_in(make_platform_admin())
    page = admin.get(f"/console/disputes/{dispute.pk}/").content.decode()
    assert 'data-testid="evidence-form"' in page and 'data-testid="admin-file-form"' in page
    assert 'data-testid="file-field-form"' in page
    Dispute.objects.filter(pk=dispute.pk).update(due_by=timezone.now() - timedelta(minutes=1))
    page = admin.get(f"/console/disputes/{dispute.pk}/").content.decode()
    assert 'data-testid="evidence-form"' not in page and 'data-testid="admin-file-form"' not in page
    assert 'data-testid="file-field-form"' not in page
    assert "The deadline for evidence passed: Stripe takes no more" in page
    assert "days left" not in page and "day left" not in page
    assert "label.pdf" in page  # the seller's proof is still listed


def test_the_console_queue_says_deadline_passed_and_each_link_names_its_dispute(sandbox: Any) -> None:
    """The queue's link to a dispute past its deadline read "0 days left"; one under review or closed
    was a link named "—", which a screen reader reads as nothing to tell the rows apart."""
    _, _, dispute = _opened(sandbox)
    admin = signed_in(make_platform_admin())
    row = admin.get("/console/disputes/").content.decode().split('data-testid="dispute-row"')[1]
    assert re.search(rf'aria-label="Dispute {dispute.pk}: [67] days left"', row)
    # An order is named as one, not a bare number, in the column that also holds subscription payments.
    assert f'<td data-label="Disputed payment">Order {dispute.order_id}</td>' in row
    # The deadline reads as on the dispute's page and the sellers list: a date in words, in UTC.
    assert f'<span class="muted">{date_format(dispute.due_by, "j F Y, H:i e")}</span>' in row
    Dispute.objects.filter(pk=dispute.pk).update(due_by=timezone.now() - timedelta(minutes=1))
    row = admin.get("/console/disputes/").content.decode().split('data-testid="dispute-row"')[1]
    assert f'aria-label="Dispute {dispute.pk}: deadline passed"' in row and "days left" not in row
    Dispute.objects.filter(pk=dispute.pk).update(status=DisputeStatus.UNDER_REVIEW)
    row = admin.get("/console/disputes/?status=all").content.decode().split('data-testid="dispute-row"')[1]
    assert f'aria-label="Dispute {dispute.pk}">—</a>' in row


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_seller_reads_what_each_of_its_proof_files_shows(sandbox: Any, currency: str) -> None:
    """The seller chose "What it shows" for each upload, then read only "label.pdf (61 bytes)": which
    kind of proof each file is (and whether the platform's team moved it out of the evidence) is said."""
    seller, _, dispute = _opened(sandbox, currency)
    client = signed_in(seller.user)
    url = f"/sell/disputes/{dispute.pk}/files/"
    for name, kind, content in (
        ("label.pdf", "shipping_documentation", pdf(1)),
        ("chat.png", "customer_communication", png(1)),
    ):
        upload = SimpleUploadedFile(name, content, content_type="application/pdf")
        assert client.post(url, {"file": upload, "evidence_field": kind}).status_code == 302
    DisputeFile.objects.filter(filename="chat.png").update(evidence_field="not_sent")
    page = client.get(f"/sell/disputes/{dispute.pk}/").content.decode()
    listed = page.split('data-testid="seller-files"', 1)[1].split("</ul>", 1)[0]
    assert "label.pdf</a> (Shipping label or proof of delivery, " in listed
    assert "chat.png</a> (Not sent to the bank, " in listed


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_queue_names_reasons_in_words(sandbox: Any, currency: str) -> None:
    """The queue's Reason column and filter showed Stripe's codes ("bank_cannot_process"), where the
    dispute's own page says a sentence: the list names each reason in words, the filter still sends the code."""
    _, _, dispute = _opened(sandbox, currency)
    admin = signed_in(make_platform_admin())
    page = admin.get("/console/disputes/", {"reason": dispute.reason}).content.decode()
    row = page.split('data-testid="dispute-row"')[1]
    label = dispute.reason.replace("_", " ").capitalize()
    assert f'<td data-label="Reason">{label}</td>' in row
    assert f'<option value="{dispute.reason}" selected>{label}</option>' in page
    assert '<option value="bank_cannot_process" >Bank cannot process</option>' in page
    assert '<option value="product_not_received" >Product not received</option>' in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_accept_while_a_submission_is_on_its_way_to_stripe_is_refused(sandbox: Any, currency: str) -> None:
    """Submit claims the dispute (`submitted_at`) before Stripe answers; the row still says "needs
    response" until it does. Accept pressed then (a second tab, another admin) was let through and
    closed the dispute at Stripe, which closes one under review too: the evidence sent for nothing,
    the dispute lost. It is refused with the sentence, and Stripe's dispute is left open."""
    _, _, dispute = _opened(sandbox, currency)
    Dispute.objects.filter(pk=dispute.pk).update(submitted_at=timezone.now())  # the submission in flight
    dispute.refresh_from_db()
    with pytest.raises(Conflict, match=r"Evidence was submitted: the bank decides now\."):
        dispute_accept(dispute=dispute)
    assert _stripe().v1.disputes.retrieve(dispute.stripe_id).status == "needs_response"
    dispute.refresh_from_db()
    assert dispute.accepted_at is None and dispute.status == DisputeStatus.NEEDS_RESPONSE


def test_a_seller_with_101_disputes_reaches_the_oldest_on_page_2() -> None:
    """The seller's list answered the newest 100 and had no `page`: the oldest dispute was out of reach."""
    seller = _many_disputes(101, currency="jpy", apart="stripe_created_at")
    client = signed_in(seller.user)
    status, first = _json(client, "get", "/api/v1/seller/disputes")
    assert status == 200 and (len(first["items"]), first["count"], first["pages"]) == (100, 101, 2)
    assert first["items"][0]["stripe_id"] == "dp_100"
    status, second = _json(client, "get", "/api/v1/seller/disputes?page=2")
    assert [d["stripe_id"] for d in second["items"]] == ["dp_0"]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_while_stripe_is_down_typed_evidence_is_kept_said_unsent_and_sent_once_it_is_back(
    sandbox: Any, stripe_down: Any, currency: str
) -> None:
    """An earlier note feared a draft typed while Stripe is down was lost. It is not: the text comes
    back in the form and stays on later visits, the page says Stripe could not be reached (not "Draft
    saved at Stripe"), a submission or an acceptance changes nothing, and the seller's statement and
    proof, kept here, go to Stripe with the evidence once it is back."""
    seller, _, dispute = _opened(sandbox, currency)
    admin = signed_in(make_platform_admin())
    page_url = f"/console/disputes/{dispute.pk}/"
    typed = {"uncategorized_text": "Signed for at the door on the 3rd.", "shipping_carrier": "UPS"}

    stripe_down(True)
    said = signed_in(seller.user).post(
        f"/sell/disputes/{dispute.pk}/statement/", {"statement": "Delivered, signed."}, follow=True
    )
    assert "Saved. The platform's team reads it" in html.unescape(said.content.decode())
    photo = SimpleUploadedFile("door.png", png(1), content_type="image/png")
    said = admin.post(f"{page_url}files/", {"file": photo, "evidence_field": "shipping_documentation"}, follow=True)
    assert "door.png attached." in said.content.decode()

    said = admin.post(f"{page_url}evidence/", {**typed, "action": "save"}, follow=True)
    page = html.unescape(said.content.decode())
    assert UNREACHABLE in page and "Draft saved" not in page
    assert "Signed for at the door on the 3rd." in page  # in the form, to press again
    assert "Signed for at the door on the 3rd." in html.unescape(admin.get(page_url).content.decode())  # and later
    said = admin.post(f"{page_url}evidence/", {**typed, "action": "submit", "confirm": "yes"}, follow=True)
    assert UNREACHABLE in html.unescape(said.content.decode())
    said = admin.post(f"{page_url}accept/", {"confirm": "yes"}, follow=True)
    assert UNREACHABLE in html.unescape(said.content.decode())
    row = Dispute.objects.get()
    assert (row.status, row.submitted_at, row.accepted_at, row.submission_count) == ("needs_response", None, None, 0)

    stripe_down(False)
    at_stripe = _stripe().v1.disputes.retrieve(dispute.stripe_id)
    assert at_stripe.evidence.uncategorized_text in (None, "")  # nothing reached Stripe meanwhile
    said = admin.post(f"{page_url}evidence/", {**typed, "action": "submit", "confirm": "yes"}, follow=True)
    assert "Evidence submitted to the bank." in said.content.decode()
    at_stripe = _stripe().v1.disputes.retrieve(dispute.stripe_id)
    assert at_stripe.evidence.uncategorized_text == "Signed for at the door on the 3rd."
    assert at_stripe.evidence.shipping_documentation == DisputeFile.objects.get().stripe_file_id != ""
    assert at_stripe.evidence_details.submission_count == 1 and Dispute.objects.get().submission_count == 1
    assert_ledger_equals_stripe()
