"""The refund pages on a payment for several shops, through the views (the forms' POSTs), against
the sandbox, USD and JPY: the buyer asks for one line of one shop's order, that shop approves and
only its transfer is reversed; the shop's own refund by line; the admin's refund, taken back from
the shop or paid by the platform. The other shops' balances never move, and the ledger invariant
holds after each step.

Worked example (see test_multi_seller_refunds.py): Kiln & Co's transfer $89.70 (¥9,000); the plate
($40.00 / ¥4,000) takes back $35.88 (¥3,600), the mug the rest. Tea House's $25.00 cup (¥2,500),
transfer $22.20 (¥2,250): the admin's $10.00 (¥1,000) refund takes back $8.88 (¥900).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils.html import escape

from marketplace.money import format_money
from orders.models import Order, OrderStatus, RefundRequest, RefundRequestStatus
from payments.models import REFUSALS_FOR_SELLER
from payments.services import REFUSALS
from payouts.models import Transfer
from tests.factories import make_platform_admin
from tests.orders.test_multi_seller_refunds import EXAMPLE, _paid_group
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances

pytestmark = pytest.mark.django_db

TEA = {"usd": ("10.00", 1_000, 888), "jpy": ("1000", 1_000, 900)}  # form amount, minor units, share


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_refund_pages_on_a_payment_for_several_shops(
    sandbox: Any, django_capture_on_commit_callbacks: Any, django_assert_max_num_queries: Any, currency: str
) -> None:
    transfer, plate_share, _plate_fee, _rest_share, _rest_fee = EXAMPLE[currency]
    (kiln, tea, paper), (kiln_order, tea_order, paper_order) = _paid_group(
        sandbox, django_capture_on_commit_callbacks, currency
    )
    buyer, kiln_user = _client(kiln_order.buyer), _client(kiln.user)
    mug, plate = kiln_order.lines.order_by("pk")
    others = {s.pk: stripe_balances(str(s.stripe_account_id)) for s in (tea, paper)}

    # The buyer asks for the plate from the order page's form.
    form = buyer.get(f"/orders/{kiln_order.pk}/")
    assert form.status_code == 200 and f'name="qty_{plate.pk}"' in form.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        asked = buyer.post(
            f"/orders/{kiln_order.pk}/refund-request/",
            {"reason": "damaged", "note": "", "scope": "lines", f"qty_{plate.pk}": "1", f"qty_{mug.pk}": "0"},
            follow=True,
        )
    assert asked.status_code == 200, asked.content
    assert _messages(asked) == ["Your refund request is with the seller. We email you their answer."]
    request = RefundRequest.objects.get(order=kiln_order)
    assert request.amount == 4_000

    # Only Kiln & Co sees it; it approves from its requests page.
    assert kiln_user.get("/sell/refunds/").status_code == 200
    assert _client(tea.user).post(f"/sell/refunds/{request.pk}/approve/", {}).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        approved = kiln_user.post(f"/sell/refunds/{request.pk}/approve/", {"amount": "", "note": ""}, follow=True)
    assert approved.status_code == 200
    assert _messages(approved)[0].startswith("Approved:"), _messages(approved)
    request.refresh_from_db()
    assert request.status == RefundRequestStatus.APPROVED
    assert stripe_balances(str(kiln.stripe_account_id)) == {currency: transfer - plate_share}
    assert {s.pk: stripe_balances(str(s.stripe_account_id)) for s in (tea, paper)} == others
    assert Transfer.objects.get(stripe_id=kiln_order.stripe_transfer_id).amount_reversed == plate_share
    assert_ledger_equals_stripe()
    page = buyer.get(f"/orders/{kiln_order.pk}/").content.decode()
    assert 'data-testid="order-partially-refunded"' in page
    told = [m.subject for m in mail.outbox if m.to == [kiln_order.buyer.email]]
    assert f"[Marketplace] Refund of {format_money(4_000, currency)} for order {kiln_order.pk}" in told

    # The shop's own refund of the mug, by line, from its order page: the order is all refunded.
    assert f'name="qty_{mug.pk}"' in kiln_user.get(f"/sell/orders/{kiln_order.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        own = kiln_user.post(
            f"/sell/orders/{kiln_order.pk}/refund/",
            {f"qty_{mug.pk}": "1", "amount": "", "reason": "Out of stock"},
            follow=True,
        )
    assert own.status_code == 200
    assert _messages(own)[0].endswith("refunded to the buyer."), _messages(own)
    kiln_order.refresh_from_db()
    assert (kiln_order.status, kiln_order.amount_refunded) == (OrderStatus.REFUNDED, 10_000)
    assert stripe_balances(str(kiln.stripe_account_id)) == {}
    assert Transfer.objects.get(stripe_id=kiln_order.stripe_transfer_id).amount_reversed == transfer
    assert {s.pk: stripe_balances(str(s.stripe_account_id)) for s in (tea, paper)} == others
    assert_ledger_equals_stripe()
    page = buyer.get(f"/orders/{kiln_order.pk}/").content.decode()
    assert ">Refunded</span>" in page

    # The admin refunds part of Tea House's order, taken back from Tea House ...
    admin = _client(make_platform_admin())
    form_amount, minor, share = TEA[currency]
    with django_capture_on_commit_callbacks(execute=True):
        done = admin.post(
            "/console/refunds/order/",
            {"order_id": str(tea_order.pk), "amount": form_amount, "reason": "", "from_seller": "on"},
            follow=True,
        )
    assert _messages(done)[0].startswith(f"Order {tea_order.pk}:"), _messages(done)
    tea_order.refresh_from_db()
    assert tea_order.amount_refunded == minor and tea_order.is_partially_refunded
    assert stripe_balances(str(tea.stripe_account_id)) == {currency: tea_order.seller_net - share}
    assert stripe_balances(str(paper.stripe_account_id)) == others[paper.pk]
    assert_ledger_equals_stripe()

    # ... and all of Paper Mill's, paid by the platform: Paper Mill keeps its money.
    platform = stripe_balances()[currency]
    with django_capture_on_commit_callbacks(execute=True):
        done = admin.post("/console/refunds/order/", {"order_id": str(paper_order.pk), "amount": ""}, follow=True)
    assert _messages(done)[0].startswith(f"Order {paper_order.pk}:"), _messages(done)
    paper_order.refresh_from_db()
    assert paper_order.status == OrderStatus.REFUNDED
    assert stripe_balances(str(paper.stripe_account_id)) == others[paper.pk]
    assert stripe_balances()[currency] == platform - paper_order.amount_total
    assert_ledger_equals_stripe()
    assert Order.objects.filter(status=OrderStatus.REFUNDED).count() == 2
    # The pages cost a fixed number of queries: the buyer's reads the other shops' orders of the
    # payment (one) and the request's lines with their items (two) besides the single-shop eight
    # (test_pages_and_api.py); the seller's and the console's as for a single-shop order.
    with django_assert_max_num_queries(10):
        assert buyer.get(f"/orders/{kiln_order.pk}/").status_code == 200
    with django_assert_max_num_queries(10):
        assert kiln_user.get(f"/sell/orders/{kiln_order.pk}/").status_code == 200
    with django_assert_max_num_queries(9):
        assert 'data-testid="recent-refund"' in admin.get("/console/refunds/").content.decode()


def _paid_funds_pending(sandbox: Any, capture: Any, currency: str) -> tuple[list[Any], list[Order]]:
    """The worked example's payment for three shops, paid with a card whose funds stay pending: no shop
    has an available balance to give its share of a refund back from, so Stripe refuses one."""
    return _paid_group(sandbox, capture, currency, card="4242424242424242")


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_shop_whose_balance_cannot_cover_the_reversal_is_told_why_and_the_admin_can_pay_it(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    (kiln, tea, paper), (kiln_order, _tea_order, _paper_order) = _paid_funds_pending(
        sandbox, django_capture_on_commit_callbacks, currency
    )
    buyer, kiln_user = _client(kiln_order.buyer), _client(kiln.user)
    before = {s.pk: stripe_balances(str(s.stripe_account_id)) for s in (kiln, tea, paper)}
    with django_capture_on_commit_callbacks(execute=True):
        buyer.post(f"/orders/{kiln_order.pk}/refund-request/", {"reason": "not_as_described", "scope": "whole"})
    request = RefundRequest.objects.get(order=kiln_order)
    assert request.amount == kiln_order.amount_total

    with django_capture_on_commit_callbacks(execute=True):
        refused = kiln_user.post(f"/sell/refunds/{request.pk}/approve/", {"amount": ""}, follow=True)
    assert _messages(refused) == [REFUSALS_FOR_SELLER["balance_insufficient"]]  # addressed to the seller
    request.refresh_from_db()
    kiln_order.refresh_from_db()
    assert request.status == RefundRequestStatus.OPEN and kiln_order.amount_refunded == 0
    assert {s.pk: stripe_balances(str(s.stripe_account_id)) for s in (kiln, tea, paper)} == before
    page = kiln_user.get(f"/sell/orders/{kiln_order.pk}/").content.decode()
    assert escape(REFUSALS_FOR_SELLER["balance_insufficient"]) in page  # the failed refund's row says why
    assert escape(REFUSALS["balance_insufficient"]) not in page  # the admins' sentence
    # The buyer is not told of a refund that never left (no money moved, none is on its way): their
    # request reads as waiting for the seller, which it is, and no "Failed" refund row.
    mine = buyer.get(f"/orders/{kiln_order.pk}/").content.decode()
    assert escape(REFUSALS["balance_insufficient"]) not in mine and "balance" not in mine
    assert 'data-testid="refund-row"' not in mine and "Failed" not in mine
    assert 'data-testid="refund-request-status">Waiting for the seller<' in mine

    admin = _client(make_platform_admin())
    with django_capture_on_commit_callbacks(execute=True):
        paid = admin.post("/console/refunds/order/", {"order_id": f"#{kiln_order.pk}", "amount": ""}, follow=True)
    assert _messages(paid)[0].startswith(f"Order {kiln_order.pk}:"), _messages(paid)
    assert paid.status_code == 200 and 'data-testid="recent-refund"' in paid.content.decode()
    kiln_order.refresh_from_db()
    assert kiln_order.status == OrderStatus.REFUNDED
    assert {s.pk: stripe_balances(str(s.stripe_account_id)) for s in (kiln, tea, paper)} == before
    assert ">Refunded</span>" in buyer.get(f"/orders/{kiln_order.pk}/").content.decode()
    assert_ledger_equals_stripe()


AMOUNTS = {"usd": "5.50", "jpy": "550"}


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_stripe_refused_keeps_what_the_seller_typed(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """Stripe refusing the refund (the shop's balance too low) is not the person's mistake: the form
    comes back as it was sent, the approval's amount and note, the shop's own refund's units, amount
    and reason, for them to send again once the balance can cover it or to hand to an admin."""
    (kiln, _tea, _paper), (kiln_order, _tea_order, _paper_order) = _paid_funds_pending(
        sandbox, django_capture_on_commit_callbacks, currency
    )
    buyer, kiln_user = _client(kiln_order.buyer), _client(kiln.user)
    mug = kiln_order.lines.order_by("pk").first()
    assert mug is not None
    with django_capture_on_commit_callbacks(execute=True):
        buyer.post(
            f"/orders/{kiln_order.pk}/refund-request/",
            {"reason": "not_as_described", "scope": "lines", f"qty_{mug.pk}": "1"},
        )
    request = RefundRequest.objects.get(order=kiln_order)

    with django_capture_on_commit_callbacks(execute=True):
        refused = kiln_user.post(
            f"/sell/refunds/{request.pk}/approve/",
            {"amount": AMOUNTS[currency], "note": "Sorry about the chip", "restock": "on"},
            follow=True,
        )
    assert _messages(refused) == [REFUSALS_FOR_SELLER["balance_insufficient"]]  # addressed to the seller
    page = refused.content.decode()
    assert f'value="{AMOUNTS[currency]}"' in page and 'value="Sorry about the chip"' in page
    assert f'id="restock-{request.pk}" name="restock" checked' in page

    with django_capture_on_commit_callbacks(execute=True):
        refused = kiln_user.post(
            f"/sell/orders/{kiln_order.pk}/refund/",
            {f"qty_{mug.pk}": "1", "amount": AMOUNTS[currency], "reason": "Out of glaze"},
            follow=True,
        )
    assert _messages(refused) == [REFUSALS_FOR_SELLER["balance_insufficient"]]  # addressed to the seller
    page = refused.content.decode()
    assert f'value="{AMOUNTS[currency]}"' in page and 'value="Out of glaze"' in page
    assert f'name="qty_{mug.pk}" type="number" min="0" max="1" value="1"' in page

    admin = _client(make_platform_admin())
    with django_capture_on_commit_callbacks(execute=True):
        refused = admin.post(
            "/console/refunds/order/",
            {"order_id": str(kiln_order.pk), "amount": AMOUNTS[currency], "reason": "Late", "from_seller": "on"},
            follow=True,
        )
    assert _messages(refused) == [REFUSALS["balance_insufficient"]]  # the admins' sentence
    page = refused.content.decode()
    assert f'name="order_id" inputmode="numeric" required value="{kiln_order.pk}"' in page
    assert f'id="admin-amount" name="amount" inputmode="decimal" autocomplete="off" value="{AMOUNTS[currency]}"' in page
    assert 'value="Late"' in page and 'id="from-seller" name="from_seller" checked' in page
    kiln_order.refresh_from_db()
    assert kiln_order.amount_refunded == 0
