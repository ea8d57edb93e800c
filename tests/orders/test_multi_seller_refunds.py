"""Refunds on a payment for several shops (separate charges and transfers): the buyer is refunded
from the platform's charge and only the refunded shop's transfer is reversed, with the platform's
fee given back in proportion (the default policy). Against the sandbox, USD and JPY.

Worked example. Kiln & Co's order: a $60.00 mug and a $40.00 plate, fee 10 % + 30 = $10.30, its
transfer $89.70 (JPY: ¥6,000 + ¥4,000, fee ¥1,000, transfer ¥9,000). Refunding the plate:

- the buyer gets $40.00 / ¥4,000 back from the platform's charge;
- Kiln & Co gives back its net share, $89.70 x 40 / 100 = $35.88 (¥3,600); the platform gives up
  its fee's share, $4.12 (¥400);
- the other shops' transfers are untouched.

Refunding the mug afterwards takes what is left: $53.82 (¥5,400), fee share $6.18 (¥600), so the
fee shares add up to the fee ($10.30 / ¥1,000) and the reversals to the transfer.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from marketplace import money
from marketplace.errors import InvalidInput
from marketplace.gateway import checkout as gateway_checkout
from marketplace.ledger.chart import APPLICATION_FEE_REFUNDS
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.selectors import ledger_balance
from marketplace.money import format_money
from orders import services
from orders.models import Order
from payments.models import Dispute, Payment, RefundOrigin, RefundStatus
from payments.services import REFUSALS, group_reversals_unused, refund_create, refund_submit
from payouts.models import Transfer, TransferReversal
from payouts.selectors import earnings_per_order, order_net
from sellers.models import Seller
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay
from tests.payments.helpers import (
    assert_ledger_equals_stripe,
    lose_dispute,
    money_page_row,
    new_events,
    process,
    revenue_lines,
    row_net,
    stripe_balances,
)

pytestmark = pytest.mark.django_db

EXAMPLE = {  # currency: (transfer, plate's share, its fee share, the rest's share, its fee share)
    "usd": (8_970, 3_588, 412, 5_382, 618),
    "jpy": (9_000, 3_600, 400, 5_400, 600),
}


def _paid_group(
    sandbox: Any,
    capture: Any,
    currency: str,
    card: str = "4000000000000077",
    kiln_prices: tuple[int, int] = (6_000, 4_000),
) -> tuple[list[Seller], list[Order]]:
    shops = [active_seller(sandbox, currency=currency, shop=name) for name in ("Kiln & Co", "Tea House", "Paper Mill")]
    kiln, tea, paper = shops
    buyer = UserFactory()
    items = [
        (listing_of(kiln, price=kiln_prices[0], title="Mug"), 1),
        (listing_of(kiln, price=kiln_prices[1], title="Plate"), 1),
        (listing_of(tea, price=2_500, title="Cup"), 1),
        (listing_of(paper, price=1_999, title="Notebook"), 1),
    ]
    started = services.checkout_start_cart(buyer=buyer, cart=cart_with(buyer, *items), currency=currency, **URLS)
    assert started.group is not None
    pay(sandbox, str(started.group.checkout_session_id), card=card)  # 0077: funds available at once
    with capture(execute=True):
        services.order_sync_from_stripe(order=started.orders[0])
    return shops, list(Order.objects.filter(checkout_group=started.group).order_by("pk"))


def _advance(sandbox: Any, seconds: int) -> None:
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": seconds}, timeout=10).raise_for_status()


def _refund(order: Order, amount: int, capture: Any, **kwargs: Any) -> Any:
    assert order.payment is not None
    with capture(execute=True):
        row = refund_create(
            payment=order.payment, amount=amount, origin=RefundOrigin.SELLER, order_id=order.pk, **kwargs
        )
    return refund_submit(refund_id=row.pk)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_refunding_one_line_of_one_shop_moves_only_that_shops_money(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    transfer, plate_share, plate_fee, rest_share, rest_fee = EXAMPLE[currency]
    (kiln, tea, paper), (kiln_order, tea_order, paper_order) = _paid_group(
        sandbox, django_capture_on_commit_callbacks, currency
    )
    assert kiln_order.seller_net == transfer
    before = {s.pk: stripe_balances(str(s.stripe_account_id)) for s in (tea, paper)}
    platform_before = stripe_balances()[currency]
    seen = {e["id"] for e in new_events(set())}

    plate = _refund(kiln_order, 4_000, django_capture_on_commit_callbacks)

    assert plate.status == RefundStatus.SUCCEEDED and plate.stripe_transfer_reversal_id
    payment = Payment.objects.get()
    charge = gateway_checkout.charge_retrieve(payment.stripe_charge_id)
    assert (charge.amount_refunded, payment.amount_refunded) == (4_000, 4_000)
    assert stripe_balances(str(kiln.stripe_account_id)) == {currency: transfer - plate_share}
    assert {s.pk: stripe_balances(str(s.stripe_account_id)) for s in (tea, paper)} == before
    assert stripe_balances()[currency] == platform_before - 4_000 + plate_share
    assert Transfer.objects.get(stripe_id=kiln_order.stripe_transfer_id).amount_reversed == plate_share
    assert Transfer.objects.get(stripe_id=tea_order.stripe_transfer_id).amount_reversed == 0
    assert ledger_balance(account=APPLICATION_FEE_REFUNDS) == {currency: plate_fee}
    assert_ledger_equals_stripe()
    # Their events (refund.created, charge.refunded, transfer.reversed ...) post nothing twice: the
    # reversal's metadata carries the fee it gives back, so its webhook posts the same legs.
    postings = LedgerTransaction.objects.count()
    events = [e for e in new_events(seen) if e["type"].startswith(("refund.", "charge.refund", "transfer."))]
    assert "transfer.reversed" in {e["type"] for e in events}
    with django_capture_on_commit_callbacks(execute=True):
        assert set(process(events)) == {"processed"}
    assert LedgerTransaction.objects.count() == postings
    assert_ledger_equals_stripe()

    rest = _refund(kiln_order, 6_000, django_capture_on_commit_callbacks)
    assert rest.status == RefundStatus.SUCCEEDED
    assert stripe_balances(str(kiln.stripe_account_id)) == {}
    assert plate_share + rest_share == transfer and plate_fee + rest_fee == kiln_order.application_fee_amount
    assert ledger_balance(account=APPLICATION_FEE_REFUNDS) == {currency: plate_fee + rest_fee}
    assert_ledger_equals_stripe()
    with pytest.raises(InvalidInput) as exc:  # nothing of that order is left to refund
        refund_create(payment=payment, amount=1, origin=RefundOrigin.SELLER, order_id=kiln_order.pk)
    assert exc.value.code == "refund_exceeds_remaining"
    with pytest.raises(InvalidInput) as exc:  # a refund of a payment for several shops names its order
        refund_create(payment=payment, amount=100, origin=RefundOrigin.ADMIN)
    assert exc.value.code == "refund_needs_order"
    assert paper_order.payment_id == payment.pk


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_seller_whose_balance_cannot_cover_the_reversal_refuses_it_with_the_sentence_and_the_admin_can_absorb_it(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    (kiln, _tea, _paper), (kiln_order, _t, _p) = _paid_group(
        sandbox,
        django_capture_on_commit_callbacks,
        currency,
        card="4242424242424242",  # funds still pending
    )
    seller_before = stripe_balances(str(kiln.stripe_account_id))

    refused = _refund(kiln_order, 4_000, django_capture_on_commit_callbacks)

    assert (refused.status, refused.failure_code) == (RefundStatus.FAILED, "balance_insufficient")
    assert refused.failure_message == REFUSALS["balance_insufficient"]
    payment = Payment.objects.get()
    assert gateway_checkout.charge_retrieve(payment.stripe_charge_id).amount_refunded == 0, "nothing was refunded"
    assert stripe_balances(str(kiln.stripe_account_id)) == seller_before

    absorbed = _refund(kiln_order, 4_000, django_capture_on_commit_callbacks, reverse_transfer=False)
    assert absorbed.status == RefundStatus.SUCCEEDED and not absorbed.stripe_transfer_reversal_id
    assert gateway_checkout.charge_retrieve(payment.stripe_charge_id).amount_refunded == 4_000
    assert stripe_balances(str(kiln.stripe_account_id)) == seller_before, "the platform paid it"
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_console_dispute_page_tells_the_orders_refunds_from_the_payments(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """A dispute of a payment for several shops shows one of its orders: its Refunds line counted the
    whole payment's refunds as that order's."""
    from django.test import Client

    from tests.factories import make_platform_admin
    from tests.payments.helpers import new_events, process
    from tests.payments.test_disputes import control

    _, (kiln_order, tea_order, _) = _paid_group(sandbox, django_capture_on_commit_callbacks, currency)
    _refund(tea_order, 2_500, django_capture_on_commit_callbacks, reverse_transfer=True)
    seen = {e["id"] for e in new_events(set())}
    assert kiln_order.payment is not None
    control(sandbox, f"charges/{kiln_order.payment.stripe_charge_id}/dispute", reason="fraudulent")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    dispute = Dispute.objects.get()
    admin = Client()
    admin.force_login(make_platform_admin())
    page = admin.get(f"/console/disputes/{dispute.pk}/").content.decode()
    shown = page.split('data-testid="dispute-order-refunds">', 1)[1].split("</p>", 1)[0]
    refunded = {o.pk: o.amount_refunded for o in Order.objects.filter(checkout_group=kiln_order.checkout_group)}
    assert refunded[tea_order.pk] == 2_500 and dispute.order_id is not None
    own = refunded[dispute.order_id]
    expected = f"{format_money(own, currency)} of this order" if own else "none of this order"
    assert f"</strong> {expected}; {format_money(2_500, currency)} of the whole payment" in shown


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_rest_refunded_after_a_refund_the_platform_paid_takes_only_its_own_share(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """An admin refunds the plate from the platform's balance (nothing taken from the seller), then
    the seller refunds the mug. That last refund of the order took "whatever is left of the
    transfer", the whole transfer, for a $60.00 refund, and gave back a negative fee share, which
    the ledger refused after Stripe had moved the money. The seller gives back its net share of the
    mug, as it would without the platform's refund, and keeps the plate's."""
    transfer, plate_share, _plate_fee, rest_share, rest_fee = EXAMPLE[currency]
    (kiln, _tea, _paper), (kiln_order, _t, _p) = _paid_group(sandbox, django_capture_on_commit_callbacks, currency)
    platform_paid = _refund(kiln_order, 4_000, django_capture_on_commit_callbacks, reverse_transfer=False)
    assert platform_paid.status == RefundStatus.SUCCEEDED
    assert stripe_balances(str(kiln.stripe_account_id)) == {currency: transfer}

    rest = _refund(kiln_order, 6_000, django_capture_on_commit_callbacks)

    assert rest.status == RefundStatus.SUCCEEDED and rest.stripe_transfer_reversal_id
    assert Transfer.objects.get(stripe_id=kiln_order.stripe_transfer_id).amount_reversed == rest_share
    assert stripe_balances(str(kiln.stripe_account_id)) == {currency: transfer - rest_share}
    assert stripe_balances(str(kiln.stripe_account_id)) == {currency: plate_share}
    assert ledger_balance(account=APPLICATION_FEE_REFUNDS) == {currency: rest_fee}
    assert_ledger_equals_stripe()
    [earning] = earnings_per_order(seller_id=kiln.pk)  # the money page's row: what the sale left at Stripe
    assert (earning.refunded, earning.fee_refunded, order_net(earning)) == (6_000, rest_fee, plate_share)


def test_three_odd_yen_refunds_take_back_the_whole_transfer_and_fee_in_proportion(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """¥6,666 + ¥3,333 = ¥9,999 refunded ¥3,333 at a time: each reversal is the transfer's share of all
    refunded so far less what was taken before (`refund_share_of_transfer`, within a yen of its exact
    share), the three add up to the transfer and their fee shares to the fee, and the ledger equals
    Stripe for the platform and every shop after each."""
    (kiln, tea, paper), (kiln_order, _t, _p) = _paid_group(
        sandbox, django_capture_on_commit_callbacks, "jpy", kiln_prices=(6_666, 3_333)
    )
    transfer, fee = kiln_order.seller_net, kiln_order.application_fee_amount
    assert transfer + fee == 9_999
    others = {s.pk: stripe_balances(str(s.stripe_account_id)) for s in (tea, paper)}
    taken = 0
    for n in (1, 2, 3):
        refund = _refund(kiln_order, 3_333, django_capture_on_commit_callbacks)
        assert refund.status == RefundStatus.SUCCEEDED
        reversed_now = Transfer.objects.get(stripe_id=kiln_order.stripe_transfer_id).amount_reversed
        assert abs(reversed_now - transfer * 3_333 * n / 9_999) < 1
        assert reversed_now - taken <= 3_333
        taken = reversed_now
        assert stripe_balances(str(kiln.stripe_account_id)) == ({"jpy": transfer - taken} if taken < transfer else {})
        assert {s.pk: stripe_balances(str(s.stripe_account_id)) for s in (tea, paper)} == others
        assert_ledger_equals_stripe()
    assert taken == transfer
    assert ledger_balance(account=APPLICATION_FEE_REFUNDS) == {"jpy": fee}
    [earning] = earnings_per_order(seller_id=kiln.pk)
    assert (earning.refunded, earning.fee_kept, order_net(earning)) == (9_999, 0, 0)


def _refund_failed_after_its_reversal(
    sandbox: Any, capture: Any, currency: str, amount: int = 4_000
) -> tuple[list[Seller], Order, Any]:
    """The group paid with card 5126 (its refunds succeed, then fail a minute later), the shops on
    manual payouts and two days on, so their funds are available and stay at Stripe; then a refund
    of `amount` of Kiln & Co's order (the plate's, by default), its reversal made, failed at the
    buyer's bank and its events processed."""
    from payouts.services import seller_payout_schedule_set

    shops, (kiln_order, _t, _p) = _paid_group(sandbox, capture, currency, card="4000000000005126")
    for shop in shops:
        seller_payout_schedule_set(
            account=str(shop.stripe_account_id), seller_id=shop.pk, interval="manual", form_token=f"m{shop.pk}"
        )
    _advance(sandbox, 2 * 86_400 + 60)
    seen = {e["id"] for e in new_events(set())}
    failed = _refund(kiln_order, amount, capture)
    assert failed.status == RefundStatus.SUCCEEDED and failed.stripe_transfer_reversal_id
    _advance(sandbox, 120)  # the buyer's bank sends it back
    with capture(execute=True):
        assert "failed" not in process(new_events(seen))
    failed.refresh_from_db()
    assert failed.status == RefundStatus.FAILED
    return shops, kiln_order, failed


def _dispute_lost(sandbox: Any, capture: Any, kiln_order: Order, amount: int) -> tuple[Dispute, list[int], list[int]]:
    """`amount` of the group's payment disputed and lost, its recovery run: the dispute, each order's
    part of it (largest remainder over the orders) and its seller's net share of that part."""
    assert kiln_order.payment is not None
    lose_dispute(sandbox, charge_id=kiln_order.payment.stripe_charge_id, amount=amount, on_commit=capture)
    orders = list(Order.objects.filter(checkout_group=kiln_order.checkout_group).order_by("pk"))
    parts = money.split_by_largest_remainder(amount, [o.amount_total for o in orders])
    transfers = [Transfer.objects.get(stripe_id=o.stripe_transfer_id).amount for o in orders]
    shares = [money.round_half_up_div(t * p, o.amount_total) for o, t, p in zip(orders, transfers, parts, strict=True)]
    return Dispute.objects.get(), parts, shares


@pytest.mark.parametrize("retries", [(4_000, 6_000), (10_000,)], ids=["plate-then-mug", "whole-order"])
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_that_failed_after_the_sellers_share_was_taken_back_is_retried_without_taking_it_twice(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str, retries: tuple[int, ...]
) -> None:
    """The plate's refund reverses Kiln & Co's share, then fails at the buyer's bank (card 5126): the
    money comes back to the platform, the reversal stays (Stripe does not undo it), and the share sits
    on the platform's balance. Refunding the order again took the share a second time, so the seller
    paid twice. A retry uses that reversal first and reverses only what it does not cover: after the
    plate again and the mug (or the whole order at once) the seller has given back its transfer once,
    the platform its fee once, and the ledger equals Stripe for the platform and every shop."""
    transfer, plate_share, plate_fee, rest_share, rest_fee = EXAMPLE[currency]
    shops, kiln_order, failed = _refund_failed_after_its_reversal(sandbox, django_capture_on_commit_callbacks, currency)
    kiln = shops[0]
    others = {s.pk: stripe_balances(str(s.stripe_account_id)) for s in shops[1:]}
    assert format_money(plate_share, currency) in failed.attention and "again" in failed.attention
    assert stripe_balances(str(kiln.stripe_account_id)) == {currency: transfer - plate_share}, "the reversal stays"
    assert_ledger_equals_stripe()
    row = money_page_row(kiln.user, kiln_order.pk)  # the money page says what Stripe's balance says
    assert row_net(row) == format_money(transfer - plate_share, currency)
    assert "taken back for a refund that failed; the next refund uses it" in row

    platform_before = stripe_balances()[currency]
    for amount in retries:
        retried = _refund(kiln_order, amount, django_capture_on_commit_callbacks)
        assert retried.status == RefundStatus.SUCCEEDED
    charge = gateway_checkout.charge_retrieve(Payment.objects.get().stripe_charge_id)
    assert charge.amount_refunded == 10_000
    assert Transfer.objects.get(stripe_id=kiln_order.stripe_transfer_id).amount_reversed == transfer
    assert stripe_balances(str(kiln.stripe_account_id)) == {}, "the seller gave its transfer back once"
    assert {s.pk: stripe_balances(str(s.stripe_account_id)) for s in shops[1:]} == others
    assert stripe_balances()[currency] == platform_before - 10_000 + rest_share
    assert ledger_balance(account=APPLICATION_FEE_REFUNDS) == {currency: plate_fee + rest_fee}
    assert plate_fee + rest_fee == kiln_order.application_fee_amount
    assert_ledger_equals_stripe()
    [earning] = earnings_per_order(seller_id=kiln.pk)  # the money page's row
    assert (earning.refunded, earning.fee_kept, order_net(earning)) == (10_000, 0, 0)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_plate_retried_alone_after_its_refund_failed_takes_nothing_more_from_the_seller(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """The same refund again (the seller presses Refund a second time): no second reversal; the seller
    keeps the mug's share, and its money page says so."""
    transfer, plate_share, plate_fee, _rest_share, _rest_fee = EXAMPLE[currency]
    (kiln, *_others), kiln_order, _failed = _refund_failed_after_its_reversal(
        sandbox, django_capture_on_commit_callbacks, currency
    )

    retried = _refund(kiln_order, 4_000, django_capture_on_commit_callbacks)

    assert retried.status == RefundStatus.SUCCEEDED and not retried.stripe_transfer_reversal_id
    assert (retried.share_reused, retried.fee_reused) == (plate_share, plate_fee)
    assert Transfer.objects.get(stripe_id=kiln_order.stripe_transfer_id).amount_reversed == plate_share
    assert stripe_balances(str(kiln.stripe_account_id)) == {currency: transfer - plate_share}
    assert ledger_balance(account=APPLICATION_FEE_REFUNDS) == {currency: plate_fee}
    assert_ledger_equals_stripe()
    [earning] = earnings_per_order(seller_id=kiln.pk)
    assert (earning.refunded, earning.fee_refunded, order_net(earning)) == (4_000, plate_fee, transfer - plate_share)
    row = money_page_row(kiln.user, kiln_order.pk)
    assert row_net(row) == format_money(transfer - plate_share, currency) and "refund that failed" not in row


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_refused_after_the_sellers_share_was_taken_back_and_sent_again_takes_the_share_once(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """The buyer's bank disputes the payment before its event reaches us: the plate's reversal goes
    through, then Stripe refuses the refund (`charge_disputed`). The reversal is recorded with the
    refund and the admin told; the refund sent again (refused again) reverses nothing more."""
    from tests.payments.test_disputes import control

    transfer, plate_share, _plate_fee, _rest_share, _rest_fee = EXAMPLE[currency]
    (kiln, _tea, _paper), (kiln_order, _t, _p) = _paid_group(sandbox, django_capture_on_commit_callbacks, currency)
    seen = {e["id"] for e in new_events(set())}
    assert kiln_order.payment is not None
    control(sandbox, f"charges/{kiln_order.payment.stripe_charge_id}/dispute", reason="fraudulent")

    refused = [_refund(kiln_order, 4_000, django_capture_on_commit_callbacks) for _ in range(2)]

    assert [(r.status, r.failure_code) for r in refused] == [(RefundStatus.FAILED, "charge_disputed")] * 2
    first, again = refused
    assert first.stripe_transfer_reversal_id and not again.stripe_transfer_reversal_id
    assert format_money(plate_share, currency) in first.attention and "again" in first.attention
    assert again.share_reused == plate_share
    assert Transfer.objects.get(stripe_id=kiln_order.stripe_transfer_id).amount_reversed == plate_share
    assert stripe_balances(str(kiln.stripe_account_id)) == {currency: transfer - plate_share}, "taken once"
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))  # the dispute's and the reversal's events
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_lost_dispute_after_a_failed_refund_counts_the_share_that_refund_already_took_back(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """The plate's refund takes Kiln & Co's share back and fails at the buyer's bank (card 5126):
    the share sits on the platform's balance. Then the buyer's bank disputes 12000 of the payment and
    the dispute is lost. Kiln & Co's part of it is 8276 (largest remainder over 10000, 2500, 1999), its
    net share of that part 7424 (USD; ¥7,448): the recovery reverses only what the plate's reversal does
    not already cover (3836; ¥3,848), where it used to reverse the whole share again, capped by the
    transfer, so that the seller gave back everything it was paid. The other shops give back their own
    shares; the ledger equals Stripe for the platform and every shop."""
    transfer, plate_share, _plate_fee, _rest_share, _rest_fee = EXAMPLE[currency]
    shops, kiln_order, failed = _refund_failed_after_its_reversal(sandbox, django_capture_on_commit_callbacks, currency)
    balances = {s.pk: stripe_balances(str(s.stripe_account_id)).get(currency, 0) for s in shops}
    assert balances[shops[0].pk] == transfer - plate_share

    dispute, parts, shares = _dispute_lost(sandbox, django_capture_on_commit_callbacks, kiln_order, 12_000)

    assert (dispute.status, dispute.recovery) == ("lost", "recovered")
    assert parts == [8_276, 2_069, 1_655]
    assert shares[0] == {"usd": 7_424, "jpy": 7_448}[currency]
    after = {s.pk: stripe_balances(str(s.stripe_account_id)).get(currency, 0) for s in shops}
    assert after[shops[0].pk] == transfer - shares[0], "the plate's reversal counts toward the share"
    for shop, share in zip(shops[1:], shares[1:], strict=True):
        assert after[shop.pk] == balances[shop.pk] - share
    assert dispute.recovered_amount == sum(shares)  # the kept reversal counted with the new ones
    kept = TransferReversal.objects.get(stripe_id=failed.stripe_transfer_reversal_id)
    assert (kept.amount, kept.for_dispute) == (plate_share, dispute.stripe_id)  # no refund uses it again
    lines = revenue_lines(currency)  # the kept reversal is recovered for the dispute, not a refund's
    assert (lines["refunds_to_buyers"], lines["refunds_paid_by_platform"]) == (0, 0)
    assert (lines["dispute_losses"], lines["dispute_recoveries"]) == (12_000, 12_000)
    assert lines["fees_refunded"] == ledger_balance(account=APPLICATION_FEE_REFUNDS)[currency]
    assert lines["net_revenue"] == stripe_balances()[currency]
    assert_ledger_equals_stripe()
    [earning] = earnings_per_order(seller_id=shops[0].pk)  # the money page's row
    assert order_net(earning) == after[shops[0].pk]
    row = money_page_row(shops[0].user, kiln_order.pk)
    assert row_net(row) == format_money(after[shops[0].pk], currency) and "the lost dispute counted it" in row


KEPT_EXAMPLE = {  # currency: (Kiln & Co's net share of its part of the dispute, its fee share, what stays kept of each)
    "usd": (3_094, 355, 5_876, 675),
    "jpy": (3_104, 345, 5_896, 655),
}


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_lost_dispute_smaller_than_a_failed_refunds_kept_reversal_counts_only_its_part(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """Kiln & Co's whole order is refunded: its transfer (8970; ¥9,000) is reversed, the platform gives
    up its fee (1030; ¥1,000), and the refund fails at the buyer's bank (card 5126): the reversal stays.
    Then 5000 of the payment is disputed and lost. Kiln & Co's part is 3449 (largest remainder over
    10000, 2500, 1999), its net share 3094 with a fee share of 355 (¥3,104 and ¥345), which the kept
    reversal covers: the dispute counts that much of it, and of the fee booked with it in proportion,
    and the rest (5876 and 675; ¥5,896 and ¥655) stays kept for a refund, where the whole reversal
    used to be named for the dispute: the money page showed the whole transfer lost to a dispute of
    3449 and the next refund found nothing kept. A refund of the rest of the order (6551) then uses
    exactly what is still kept and reverses nothing; Stripe refuses it, the charge being disputed.
    The money page, the revenue report and the ledger equal Stripe for the platform and every shop
    after each step."""
    from django.utils.html import escape

    from tests.orders.test_multi_seller_disputes import _console_dispute_page

    transfer = EXAMPLE[currency][0]
    counted, counted_fee, kept, kept_fee = KEPT_EXAMPLE[currency]
    shops, kiln_order, failed = _refund_failed_after_its_reversal(
        sandbox, django_capture_on_commit_callbacks, currency, amount=10_000
    )
    kiln = shops[0]
    balances = {s.pk: stripe_balances(str(s.stripe_account_id)).get(currency, 0) for s in shops}
    assert balances[kiln.pk] == 0 and group_reversals_unused(order_id=kiln_order.pk) == (transfer, 10_000 - transfer)
    assert_ledger_equals_stripe()

    dispute, parts, shares = _dispute_lost(sandbox, django_capture_on_commit_callbacks, kiln_order, 5_000)

    assert (dispute.status, dispute.recovery) == ("lost", "recovered")
    assert parts[0] == 3_449 and counted + counted_fee == 3_449 and counted + kept == transfer
    assert shares[0] == counted
    after = {s.pk: stripe_balances(str(s.stripe_account_id)).get(currency, 0) for s in shops}
    assert after[kiln.pk] == 0, "nothing more taken from Kiln & Co: its kept reversal covers its part"
    for shop, share in zip(shops[1:], shares[1:], strict=True):
        assert after[shop.pk] == balances[shop.pk] - share
    assert dispute.recovered_amount == sum(shares)  # Kiln & Co's counted part, not its whole reversal
    page = _console_dispute_page(dispute)  # what the admin reads of each shop
    assert f"{format_money(sum(shares), currency)} taken back at once from 3 shops" in page
    assert f"<li>{escape(kiln.shop_name)}: {format_money(counted, currency)} taken back</li>" in page
    reversal = TransferReversal.objects.get(stripe_id=failed.stripe_transfer_reversal_id)
    assert (reversal.amount, reversal.for_dispute, reversal.kept_for_refund) == (transfer, dispute.stripe_id, kept)
    assert group_reversals_unused(order_id=kiln_order.pk) == (kept, kept_fee), "the rest stays kept for a refund"
    assert_ledger_equals_stripe()

    def shows_what_stripe_did() -> None:
        [earning] = earnings_per_order(seller_id=kiln.pk)  # the money page's row
        assert (earning.disputed, earning.kept_for_dispute) == (counted, counted)
        assert (earning.refunded, earning.kept_refunded, earning.fee_kept) == (
            kept + kept_fee,
            kept + kept_fee,
            counted_fee,
        )
        assert order_net(earning) == 0 == after[kiln.pk]
        row = money_page_row(kiln.user, kiln_order.pk)
        assert row_net(row) == format_money(0, currency)
        assert f"Of it, {format_money(kept + kept_fee, currency)} was taken back for a refund that failed" in row
        assert f"Of it, {format_money(counted, currency)} was taken back for a refund that failed, and the lost" in row
        lines = revenue_lines(currency)
        assert (lines["dispute_losses"], lines["dispute_recoveries"]) == (5_000, 5_000)
        assert lines["refunds_to_buyers"] == 0
        assert lines["refunds_paid_by_platform"] == -(kept + kept_fee), "the platform holds the kept share"
        assert lines["fees_refunded"] == ledger_balance(account=APPLICATION_FEE_REFUNDS)[currency]
        assert lines["net_revenue"] == stripe_balances()[currency]
        assert_ledger_equals_stripe()

    shows_what_stripe_did()

    rest = _refund(kiln_order, 10_000 - 3_449, django_capture_on_commit_callbacks)

    assert (rest.share_reused, rest.fee_reused) == (kept, kept_fee), "only what is still kept"
    assert (rest.status, rest.failure_code, rest.stripe_transfer_reversal_id) == (
        RefundStatus.FAILED,
        "charge_disputed",
        "",
    )
    assert Transfer.objects.get(stripe_id=kiln_order.stripe_transfer_id).amount_reversed == transfer
    assert {s.pk: stripe_balances(str(s.stripe_account_id)).get(currency, 0) for s in shops} == after
    assert group_reversals_unused(order_id=kiln_order.pk) == (kept, kept_fee)
    shows_what_stripe_did()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_with_the_dispute_fee_recovered_the_kept_reversal_does_not_pay_the_sellers_part_of_it(
    sandbox: Any, django_capture_on_commit_callbacks: Any, settings: Any, currency: str
) -> None:
    """The same failed refund and lost dispute, the platform recovering the dispute fee too
    (`seller_share_and_fee`): Kiln & Co owes its part of the dispute fee. The kept reversal counts
    only toward its share of the disputed amount; it used to be subtracted whole from what the seller
    owed as well, so the rest of it, the seller's money kept for a refund, silently paid the fee."""
    from payments.models import SellerDebt

    settings.DISPUTE_RECOVERY = "seller_share_and_fee"
    counted, _counted_fee, kept, kept_fee = KEPT_EXAMPLE[currency]
    shops, kiln_order, _failed = _refund_failed_after_its_reversal(
        sandbox, django_capture_on_commit_callbacks, currency, amount=10_000
    )

    dispute, parts, _shares = _dispute_lost(sandbox, django_capture_on_commit_callbacks, kiln_order, 5_000)

    fee_parts = money.split_by_largest_remainder(dispute.dispute_fee, parts)
    assert dispute.dispute_fee > 0 and fee_parts[0] > 0
    debt = SellerDebt.objects.get(seller=shops[0])
    assert (debt.amount, debt.collected) == (fee_parts[0], 0), "its balance is empty: owed, not taken"
    assert group_reversals_unused(order_id=kiln_order.pk) == (kept, kept_fee), "the rest stays kept"
    [earning] = earnings_per_order(seller_id=shops[0].pk)
    assert earning.disputed == counted + fee_parts[0] and order_net(earning) == -fee_parts[0]
    assert stripe_balances(str(shops[0].stripe_account_id)) == {}
    assert_ledger_equals_stripe()
