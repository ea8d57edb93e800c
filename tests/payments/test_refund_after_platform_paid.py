"""A destination charge refunded in part by the platform (an admin's refund that takes nothing from
the seller), then refunded of everything left taking the seller's share back (the seller's own
refund). Stripe: "If the refund results in the entire charge being refunded, the entire transfer is
reversed" and the entire application fee refunded (connect-behaviour.md §a), so the last refund takes
back the seller's whole share, the part the platform paid for included. On a 10000 sale with a 1000
fee, 2000 refunded by the platform: the transfer is reversed by 10000, not 8000, and the fee refunded
by 1000, so the seller ends at 0 and the platform at minus Stripe's fee, having paid nothing in the
end. Every page that shows the seller's share shows what Stripe did, read from the mirrored reversal
and fee refund, and the ledger equals Stripe. Sandbox over HTTP, USD and JPY."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.test import Client

from marketplace.errors import InvalidInput
from marketplace.money import format_money
from orders.models import Order
from payments.models import Refund, RefundOrigin, RefundStatus
from payments.services import payment_whole_share, refund_create
from payouts.models import ApplicationFeeRefund, TransferReversal
from tests.factories import make_platform_admin
from tests.payments.helpers import (
    assert_ledger_equals_stripe,
    money_page_row,
    revenue_lines,
    row_net,
    stripe_balances,
)
from tests.payments.test_kept_reversal_edges import _fail_first_refund
from tests.payments.test_refunds import STRIPE_FEE, paid_order, refund

pytestmark = pytest.mark.django_db
TYPED = {"usd": "20.00", "jpy": "2000"}  # 2000 minor units, as the admin types it


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(page: str) -> str:
    """A page as a person reads it: tags gone, entities read, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _cell(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(.*?)</td>', page, re.S)
    assert found is not None, testid
    return _text(found.group(1)).strip()


def _platform_pays_part(order: Order, currency: str, capture: Any) -> None:
    """The admin refunds 2000 from the console, "take it back from the seller" unticked."""
    with capture(execute=True):
        answer = _client(make_platform_admin()).post(
            "/console/refunds/order/", {"order_id": str(order.pk), "amount": TYPED[currency], "reason": "Late"}
        )
    assert answer.status_code == 302
    [paid] = Refund.objects.all()
    assert (paid.status, paid.reverse_transfer) == (RefundStatus.SUCCEEDED, False)


def _seller_refunds_the_rest(order: Order, capture: Any, client: Client | None = None, **confirm: str) -> Any:
    with capture(execute=True):
        return (client or _client(order.seller.user)).post(
            f"/sell/orders/{order.pk}/refund/",
            {"amount": "", "reason": "Out of stock", "form_token": "rest1", **confirm},
        )


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_everything_left_after_a_refund_the_platform_paid_shows_what_stripe_took_on_every_page(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    order = paid_order(sandbox, currency)
    account, fee = str(order.seller.stripe_account_id), STRIPE_FEE[currency]
    _platform_pays_part(order, currency, django_capture_on_commit_callbacks)
    assert stripe_balances(account) == {currency: 9_000}

    _seller_refunds_the_rest(order, django_capture_on_commit_callbacks, whole_share="on")

    last = Refund.objects.order_by("pk").last()
    assert last is not None and (last.amount, last.status, last.reverse_transfer) == (8_000, "succeeded", True)
    # What Stripe did: the whole transfer reversed and the whole fee refunded.
    assert list(TransferReversal.objects.values_list("amount", flat=True)) == [10_000]
    assert list(ApplicationFeeRefund.objects.values_list("amount", flat=True)) == [1_000]
    assert stripe_balances(account) == {} and stripe_balances() == {currency: -fee}
    assert_ledger_equals_stripe()

    zero = format_money(0, currency)
    seller = _client(order.seller.user)
    # The money page's row: the whole sale taken back, the whole fee given back, nothing left.
    row = money_page_row(order.seller.user, order.pk)
    assert row_net(row) == zero
    assert _cell(row.replace('data-label="Refunds"', 'data-testid="row-refunds"'), "row-refunds").startswith(
        format_money(10_000, currency)
    )
    # The seller's order page: its breakdown and the refunds' rows.
    page = seller.get(f"/sell/orders/{order.pk}/").content.decode()
    assert _cell(page, "seller-net") == zero
    assert _cell(page, "refunded-from-seller") == format_money(10_000, currency)
    assert _cell(page, "fee-refunded") == format_money(1_000, currency)
    text = _text(page)
    assert "nothing taken from you" not in text
    assert f"Stripe took back your whole share, {format_money(10_000, currency)}" in text
    # The seller's orders list and the API say the same.
    listed = seller.get("/api/v1/seller/orders")
    assert [o["seller_net"] for o in json.loads(listed.content)["items"]] == [0]
    # The revenue report: the platform paid nothing in the end; its net revenue is its Stripe balance.
    lines = revenue_lines(currency)
    assert lines["refunds_paid_by_platform"] == 0 and lines["net_revenue"] == -fee
    # The console's latest refunds no longer call the first one paid by the platform alone.
    console = _text(_client(make_platform_admin()).get("/console/refunds/").content.decode())
    assert "Stripe took the seller's share of it back" in console


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_seller_is_told_before_and_the_refund_waits_for_the_box(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """The seller's order page says, above its refund form, what a refund of everything left would take
    (naming the amounts); sent without ticking the box, it is refused with that sentence and nothing
    reaches Stripe; a refund of less is not asked; ticked, it goes through."""
    order = paid_order(sandbox, currency)
    account = str(order.seller.stripe_account_id)
    _platform_pays_part(order, currency, django_capture_on_commit_callbacks)
    seller = _client(order.seller.user)

    def money(amount: int) -> str:
        return format_money(amount, currency)

    before = _text(seller.get(f"/sell/orders/{order.pk}/").content.decode())
    assert (
        f"The marketplace paid {money(2_000)} of earlier refunds itself and left you your share of them. A refund "
        f"of everything left ({money(8_000)}) refunds the payment in full, and Stripe then takes back all that is "
        f"left of your share: {money(10_000)} from your balance, {money(2_000)} more than that refund's own share, "
        f"with the rest of the marketplace fee, {money(1_000)}, back to you."
    ) in before
    assert f"Take back the whole share ({money(10_000)}) if this refund is everything left" in before

    answer = _seller_refunds_the_rest(order, django_capture_on_commit_callbacks, seller)
    assert answer.status_code == 302
    assert Refund.objects.count() == 1 and stripe_balances(account) == {currency: 9_000}
    refused = _text(seller.get(f"/sell/orders/{order.pk}/").content.decode())
    assert "Nothing was refunded." in refused, refused
    assert f"Stripe takes back all that is left of the seller's share: {money(10_000)} from the seller's balance" in (
        refused
    )

    # Less than everything left takes only its own share: no box needed.
    with django_capture_on_commit_callbacks(execute=True):
        seller.post(
            f"/sell/orders/{order.pk}/refund/",
            {"amount": TYPED[currency], "reason": "Chipped", "form_token": "part1"},
        )
    assert Refund.objects.count() == 2 and stripe_balances(account) == {currency: 7_200}
    assert_ledger_equals_stripe()

    # Everything left now is 6000; Stripe takes the 8000 left of the transfer.
    again = _text(seller.get(f"/sell/orders/{order.pk}/").content.decode())
    assert f"{money(8_000)} from your balance, {money(2_000)} more than that refund's own share" in again
    _seller_refunds_the_rest(order, django_capture_on_commit_callbacks, seller, whole_share="on")
    assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).count() == 3
    assert stripe_balances(account) == {} and stripe_balances() == {currency: -STRIPE_FEE[currency]}
    assert_ledger_equals_stripe()
    done = seller.get(f"/sell/orders/{order.pk}/").content.decode()
    assert _cell(done, "seller-net") == money(0) and "whole-share-warning" not in done


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_console_and_the_api_ask_for_the_box_too(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """The console's "Refund an order" form (taking it back from the seller) and the seller's API are
    refused the same way until confirmed; an admin who unticks "take it back" has the platform pay the
    rest, which takes nothing from the seller and needs no box."""
    order = paid_order(sandbox, currency)
    account = str(order.seller.stripe_account_id)
    _platform_pays_part(order, currency, django_capture_on_commit_callbacks)
    admin = _client(make_platform_admin())
    form = {"order_id": str(order.pk), "amount": "", "reason": "Lost", "from_seller": "on", "form_token": "c1"}
    with django_capture_on_commit_callbacks(execute=True):
        refused_page = admin.post("/console/refunds/order/", form)
    assert refused_page.status_code == 422
    console = _text(refused_page.content.decode())
    assert f"{format_money(10_000, currency)} from the seller's balance" in console
    assert "Take back the whole share if this refund is everything left" in console
    assert Refund.objects.count() == 1

    api = _client(order.seller.user)
    url = f"/api/v1/seller/orders/{order.pk}/refunds"
    refused = api.post(url, json.dumps({"reason": "Lost"}), "application/json")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "whole_share_unconfirmed"
    assert Refund.objects.count() == 1 and stripe_balances(account) == {currency: 9_000}

    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/console/refunds/order/", {**form, "from_seller": "", "form_token": "c2"})
    assert Refund.objects.filter(reverse_transfer=False, status=RefundStatus.SUCCEEDED).count() == 2
    assert stripe_balances(account) == {currency: 9_000}
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_api_refund_with_take_whole_share_goes_through(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    order = paid_order(sandbox, currency)
    _platform_pays_part(order, currency, django_capture_on_commit_callbacks)
    api = _client(order.seller.user)
    with django_capture_on_commit_callbacks(execute=True):
        made = api.post(
            f"/api/v1/seller/orders/{order.pk}/refunds",
            json.dumps({"reason": "Lost", "take_whole_share": True}),
            "application/json",
        )
    assert made.status_code == 201 and made.json()["amount"] == 8_000
    assert stripe_balances(str(order.seller.stripe_account_id)) == {}
    assert_ledger_equals_stripe()
    [listed] = json.loads(api.get("/api/v1/seller/orders").content)["items"]
    assert listed["seller_net"] == 0


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_after_a_failed_refund_kept_its_reversal_the_warning_and_the_row_still_equal_stripe(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """A refund of 3000 fails after taking the seller's 3000 back (card 5126: Stripe keeps the
    reversal), then the platform pays 2000, then everything left (8000) is refunded taking the share:
    Stripe reverses the 7000 left of the transfer, 2000 more than the 5000 that refund still needed
    beside the kept reversal. The warning names those, and the money page's row nets 0 as Stripe."""
    order = _fail_first_refund(sandbox, currency, 3_000, django_capture_on_commit_callbacks)
    assert order.payment is not None
    account = str(order.seller.stripe_account_id)
    assert refund(order, 2_000, reverse_transfer=False).status == RefundStatus.SUCCEEDED
    assert stripe_balances(account) == {currency: 6_300}

    whole = payment_whole_share(payment=order.payment)
    assert whole is not None and whole[:5] == (8_000, 7_000, 2_000, 700, 2_000)
    with pytest.raises(InvalidInput) as refused:
        refund_create(payment=order.payment, amount=8_000, origin=RefundOrigin.SELLER, whole_share_ok=False)
    assert refused.value.code == "whole_share_unconfirmed"
    assert format_money(7_000, currency) in refused.value.message

    assert refund(order, 8_000).status == RefundStatus.SUCCEEDED
    assert stripe_balances(account) == {} and stripe_balances() == {currency: -STRIPE_FEE[currency]}
    assert row_net(money_page_row(order.seller.user, order.pk)) == format_money(0, currency)
    assert_ledger_equals_stripe()
