"""A cart with several shops paid once: one Checkout Session on the platform, one order per shop,
one transfer per seller order from the charge (separate charges and transfers), against the sandbox
over HTTP through the real SDK, with the ledger checked against Stripe's balances to the cent.

Worked examples. Three shops, fee rules: Kiln & Co the platform default (USD 10 % + 30 cents, JPY
10 % + 0), Tea House its own 5 %, Paper Mill its own 0 %:

| shop | order | fee | transfer |
|---|---|---|---|
| Kiln & Co | $100.00 / ¥10,000 | $10.30 / ¥1,000 | $89.70 / ¥9,000 |
| Tea House | $33.33 / ¥3,333 | $1.67 / ¥167 (166.65 rounded half up) | $31.66 / ¥3,166 |
| Paper Mill | $12.50 / ¥1,250 | 0 | $12.50 / ¥1,250 |

One charge of $145.83 / ¥14,583; Stripe's fee is $4.53 (2.9 % + 30) / ¥525 (3.6 %), so the
platform keeps $11.97 - $4.53 = $7.44 and ¥1,167 - ¥525 = ¥642.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import CartItem, Listing
from fees.services import fee_rule_set
from marketplace.errors import Conflict, InvalidInput, NotFound
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway import transfers as gateway_transfers
from marketplace.gateway.types import CheckoutSession
from marketplace.ledger.models import LedgerTransaction
from orders import services
from orders.models import CheckoutGroup, Order, OrderStatus
from payments.group_recovery import group_dispute_shares
from payments.models import Payment
from payouts.models import Transfer
from sellers.models import Seller
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, signed_in
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process, stripe_balances

pytestmark = pytest.mark.django_db

WORKED = {
    # currency: (order amounts, fees, Stripe's fee, platform net)
    "usd": ((10_000, 3_333, 1_250), (1_030, 167, 0), 453, 744),
    "jpy": ((10_000, 3_333, 1_250), (1_000, 167, 0), 525, 642),
}


def three_shops(sandbox: Any, currency: str) -> list[Seller]:
    shops = [active_seller(sandbox, currency=currency, shop=name) for name in ("Kiln & Co", "Tea House", "Paper Mill")]
    fee_rule_set(currency=currency, basis_points=500, fixed_amount=0, seller=shops[1])
    fee_rule_set(currency=currency, basis_points=0, fixed_amount=0, seller=shops[2])
    return shops


def start_cart(buyer: Any, currency: str, *items: tuple[Listing, int]) -> services.CartCheckoutStart:
    return services.checkout_start_cart(buyer=buyer, cart=cart_with(buyer, *items), currency=currency, **URLS)


def settle(order: Order, capture: Any) -> Order:
    """The success page's path, with the outbox's follow-ups (emails, transfers) run at commit."""
    with capture(execute=True):
        return services.order_sync_from_stripe(order=order)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_cart_of_three_shops_is_one_payment_three_orders_and_three_transfers_in_one_group(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    amounts, fees, stripe_fee, platform_net = WORKED[currency]
    shops = three_shops(sandbox, currency)
    buyer = UserFactory()
    listings = [listing_of(shop, price=amount) for shop, amount in zip(shops, amounts, strict=True)]
    started = start_cart(buyer, currency, *((listing, 1) for listing in listings))

    assert started.group is not None and len(started.orders) == 3
    session = gateway_checkout.checkout_session_retrieve(str(started.group.checkout_session_id), expand_payment=False)
    assert session.amount_total == sum(amounts) and session.url == started.url
    assert {o.checkout_session_id for o in started.orders} == {session.id}
    assert [(o.seller, o.amount_total, o.application_fee_amount) for o in started.orders] == list(
        zip(shops, amounts, fees, strict=True)
    )
    pay(sandbox, session.id)
    settle(started.orders[0], django_capture_on_commit_callbacks)

    orders = list(Order.objects.filter(checkout_group=started.group).order_by("pk"))
    assert [o.status for o in orders] == [OrderStatus.PAID] * 3
    payment = Payment.objects.get()
    assert {o.payment_id for o in orders} == {payment.pk}
    assert (payment.amount, payment.currency, payment.stripe_fee) == (sum(amounts), currency, stripe_fee)
    nets = [amount - fee for amount, fee in zip(amounts, fees, strict=True)]
    transfers = {t.destination: t for t in Transfer.objects.filter(payment=payment)}
    assert {shop.stripe_account_id: transfers[str(shop.stripe_account_id)].amount for shop in shops} == {
        shop.stripe_account_id: net for shop, net in zip(shops, nets, strict=True)
    }
    assert [o.stripe_transfer_id for o in orders] == [transfers[str(s.stripe_account_id)].stripe_id for s in shops]
    # At Stripe: three transfers from the one charge, in the group's transfer group.
    charge = gateway_checkout.charge_retrieve(payment.stripe_charge_id)
    assert charge.transfer_group == started.group.transfer_group and charge.transfer_data is None
    for shop, net in zip(shops, nets, strict=True):
        assert stripe_balances(str(shop.stripe_account_id)) == {currency: net}
    assert stripe_balances() == {currency: platform_net}
    assert sum(nets) + sum(fees) == payment.amount
    assert_ledger_equals_stripe()
    assert not CartItem.objects.filter(cart__user=buyer).exists()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_transfer_events_and_the_session_redelivered_post_nothing_twice(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """`transfer.created` carries the platform's fee in the transfer's metadata, so the webhook posts
    the same legs as the path that made the transfer: redelivered, in reverse order and again under
    new ids, nothing moves."""
    shops = three_shops(sandbox, currency)
    seen = {e["id"] for e in new_events(set())}
    buyer = UserFactory()
    started = start_cart(buyer, currency, *((listing_of(shop, price=2_000 + i), 1) for i, shop in enumerate(shops)))
    pay(sandbox, str(started.group and started.group.checkout_session_id))
    settle(started.orders[0], django_capture_on_commit_callbacks)
    postings = LedgerTransaction.objects.count()
    events = [e for e in new_events(seen) if e["type"].startswith(("checkout.session", "charge.", "transfer."))]
    assert sum(e["type"] == "transfer.created" for e in events) == 3

    with django_capture_on_commit_callbacks(execute=True):
        assert set(process(reversed(events))) == {"processed"}
        assert set(process(events, copy=True)) == {"processed"}

    assert LedgerTransaction.objects.count() == postings == 4  # the charge and three transfers
    assert Transfer.objects.count() == 3
    assert_ledger_equals_stripe()


def test_the_transfer_webhook_first_posts_the_same_legs(sandbox: Any, django_capture_on_commit_callbacks: Any) -> None:
    """When `transfer.created` is processed before our own path records the transfer (a crash between
    Stripe's answer and our commit), the follow-up's retry finds the same posting and no conflict."""
    shops = three_shops(sandbox, "usd")[:2]
    seen = {e["id"] for e in new_events(set())}
    started = start_cart(UserFactory(), "usd", *((listing_of(shop, price=5_000), 1) for shop in shops))
    pay(sandbox, str(started.group and started.group.checkout_session_id))
    with django_capture_on_commit_callbacks(execute=False):  # paid, transfers not sent yet
        services.order_sync_from_stripe(order=started.orders[0])
    first = Order.objects.select_related("payment", "seller", "checkout_group").get(pk=started.orders[0].pk)
    assert first.payment is not None and first.checkout_group is not None
    made = gateway_transfers.transfer_create(  # Stripe made it; our commit was lost
        order_id=first.pk,
        amount=first.seller_net,
        currency="usd",
        destination=str(first.seller.stripe_account_id),
        source_transaction=first.payment.stripe_charge_id,
        transfer_group=first.checkout_group.transfer_group,
        metadata={"order_id": str(first.pk), "platform_fee": str(first.application_fee_amount)},
    )
    assert process([e for e in new_events(seen) if e["type"] == "transfer.created"]) == ["processed"]
    assert services.order_transfer_to_seller(order_id=first.pk) == made.id  # the key gives the same transfer
    assert Transfer.objects.filter(stripe_id=made.id).count() == 1
    assert LedgerTransaction.objects.filter(source_id=made.id).count() == 1
    services.order_transfer_to_seller(order_id=started.orders[1].pk)
    assert_ledger_equals_stripe()


def test_two_currencies_are_two_payments_and_the_page_says_so(sandbox: Any) -> None:
    usd = [active_seller(sandbox, currency="usd", shop=name) for name in ("Kiln & Co", "Tea House")]
    jpy = active_seller(sandbox, currency="jpy", shop="Tokyo Tea")
    buyer = UserFactory()
    cart = cart_with(buyer, *((listing_of(s, price=1_000), 1) for s in [*usd, jpy]))
    page = signed_in(buyer).get("/cart/").content.decode()
    assert "so you pay 2 times: once per currency (USD, JPY)" in page
    assert "Pay $20.00 to 2 shops at once" in page and "Pay ¥1,000 to Tokyo Tea" in page
    both = services.checkout_start_cart(buyer=buyer, cart=cart, currency="usd", **URLS)
    alone = services.checkout_start_cart(buyer=buyer, cart=cart, currency="JPY", **URLS)
    assert both.group is not None and len(both.orders) == 2
    assert alone.group is None and [o.seller for o in alone.orders] == [jpy]
    session = gateway_checkout.checkout_session_retrieve(str(alone.orders[0].checkout_session_id))
    assert isinstance(session, CheckoutSession) and session.amount_total == 1_000
    with pytest.raises(NotFound):  # nothing in that currency
        services.checkout_start_cart(buyer=buyer, cart=cart, currency="eur", **URLS)


def test_a_double_click_gives_one_group_and_a_changed_cart_replaces_it(sandbox: Any) -> None:
    shops = [active_seller(sandbox, shop=name) for name in ("Kiln & Co", "Tea House")]
    mug, cup = listing_of(shops[0], price=1_500, stock=5), listing_of(shops[1], price=900, stock=5)
    buyer = UserFactory()
    first = start_cart(buyer, "usd", (mug, 1), (cup, 1))
    again = start_cart(buyer, "usd", (mug, 1), (cup, 1))
    assert again.group == first.group and again.url == first.url
    changed = start_cart(buyer, "usd", (mug, 2), (cup, 1))
    assert changed.group != first.group
    assert set(Order.objects.filter(checkout_group=first.group).values_list("status", flat=True)) == {
        OrderStatus.CANCELED
    }
    mug.refresh_from_db()
    cup.refresh_from_db()
    assert (mug.stock, cup.stock) == (3, 4), "the replaced orders' stock came back, the new ones hold theirs"
    assert CheckoutGroup.objects.count() == 2


def test_canceling_one_order_of_the_group_cancels_the_payment_for_every_shop(sandbox: Any) -> None:
    shops = [active_seller(sandbox, shop=name) for name in ("Kiln & Co", "Tea House")]
    mug, cup = listing_of(shops[0], price=1_500, stock=5), listing_of(shops[1], price=900, stock=5)
    buyer = UserFactory()
    started = start_cart(buyer, "usd", (mug, 1), (cup, 2))
    canceled = services.order_cancel(order=started.orders[1], buyer=buyer)
    assert canceled.status == OrderStatus.CANCELED and "every shop" in canceled.status_message
    assert Order.objects.get(pk=started.orders[0].pk).status == OrderStatus.CANCELED
    session = gateway_checkout.checkout_session_retrieve(str(canceled.checkout_session_id), expand_payment=False)
    assert session.status == "expired"
    mug.refresh_from_db()
    cup.refresh_from_db()
    assert (mug.stock, cup.stock) == (5, 5)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    currency=st.sampled_from(["usd", "jpy"]),
    carts=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=250_000),  # unit price
            st.integers(min_value=1, max_value=3),  # quantity
            st.integers(min_value=0, max_value=10_000),  # the seller's basis points
            st.integers(min_value=0, max_value=500),  # the seller's fixed fee
        ),
        min_size=2,
        max_size=4,
    ),
)
def test_property_the_transfers_and_the_platforms_fees_add_up_to_the_charge(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str, carts: list[tuple[int, int, int, int]]
) -> None:
    """For random carts of 2 to 4 shops with their own fee rules: the sum of the transfers plus the
    platform's fees equals the charge, always, and the ledger equals Stripe's balances."""
    buyer = UserFactory()
    items = []
    for i, (price, quantity, bps, fixed) in enumerate(carts):
        shop = active_seller(sandbox, currency=currency, shop=f"Shop {i} of buyer {buyer.pk}")  # no two alike
        fee_rule_set(currency=currency, basis_points=bps, fixed_amount=fixed, seller=shop)
        items.append((listing_of(shop, price=price, stock=5), quantity))
    started = start_cart(buyer, currency, *items)
    pay(sandbox, str(started.group and started.group.checkout_session_id))
    settle(started.orders[0], django_capture_on_commit_callbacks)

    payment = Payment.objects.get(pk=Order.objects.get(pk=started.orders[0].pk).payment_id)
    orders = list(Order.objects.filter(checkout_group=started.group))
    transferred = sum(t.amount for t in Transfer.objects.filter(payment=payment))
    assert transferred + sum(o.application_fee_amount for o in orders) == payment.amount
    assert all(o.status == OrderStatus.PAID for o in orders)
    assert_ledger_equals_stripe()


def test_shops_that_together_are_more_than_one_card_payment_say_so_before_pay(sandbox: Any) -> None:
    shops = [active_seller(sandbox, shop=name) for name in ("Kiln & Co", "Tea House")]
    buyer = UserFactory()
    cart = cart_with(buyer, *((listing_of(shop, price=60_000_000), 1) for shop in shops))
    page = signed_in(buyer).get("/cart/").content.decode()
    assert "$1,200,000.00 is more than one card payment can be ($999,999.99)" in page
    with pytest.raises(InvalidInput) as exc:
        services.checkout_start_cart(buyer=buyer, cart=cart, currency="usd", **URLS)
    assert exc.value.code == "cart_not_payable" and not Order.objects.exists()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_api_pays_a_cart_of_two_shops_at_once_without_a_seller_id(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    shops = [active_seller(sandbox, currency=currency, shop=name) for name in ("Kiln & Co", "Tea House")]
    buyer = UserFactory()
    cart_with(buyer, *((listing_of(shop, price=1_000 * (i + 1)), 1) for i, shop in enumerate(shops)))
    client = Client()
    client.force_login(buyer)
    created = client.post("/api/v1/checkout", json.dumps({"currency": currency}), "application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    orders = list(Order.objects.filter(buyer=buyer).order_by("pk"))
    assert body["order_ids"] == [o.pk for o in orders] and body["order_id"] == orders[0].pk
    pay(sandbox, body["url"].rsplit("/", 1)[-1])
    settle(orders[0], django_capture_on_commit_callbacks)
    listed = client.get("/api/v1/orders").json()["items"]
    assert sorted((o["shop_name"], o["status"]) for o in listed) == [("Kiln & Co", "paid"), ("Tea House", "paid")]
    missing = client.post("/api/v1/checkout", json.dumps({"currency": "eur"}), "application/json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "cart_group_not_found"


def test_a_group_orders_page_names_the_other_shops_of_its_payment_at_a_fixed_query_count(
    sandbox: Any, django_assert_max_num_queries: Any
) -> None:
    shops = [active_seller(sandbox, shop=name) for name in ("Kiln & Co", "Tea House", "Paper Mill")]
    buyer = UserFactory()
    started = start_cart(buyer, "usd", *((listing_of(shop, price=1_000), 1) for shop in shops))
    client = signed_in(buyer)
    first, *others = started.orders
    with django_assert_max_num_queries(9):
        page = client.get(f"/orders/{first.pk}/").content.decode()
    assert "One payment with your orders from" in page
    assert f"Tea House (order {others[0].pk})" in page and f"Paper Mill (order {others[1].pk})" in page
    assert "Cancel this payment, for every shop in it" in page
    with django_assert_max_num_queries(8):
        assert client.get("/orders/").status_code == 200


@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_dispute_splits_over_the_shops_by_largest_remainder_and_each_recovers_its_net_share(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str, data: st.DataObject
) -> None:
    """Worked example (the module's three shops) disputed for 5000: parts 3429, 1143, 428 (the two
    largest remainders get the two units left); reversals 3076, 1086, 428 in USD (transfers 8970,
    3166, 1250) and 3086, 1086, 428 in JPY (transfer 9000). Then, for random disputed amounts: the
    parts add up to the dispute, each reversal plus the fee given back is its part, never more than
    its transfer; in full, each transfer and each fee exactly."""
    amounts, fees, _stripe_fee, _net = WORKED[currency]
    shops = three_shops(sandbox, currency)
    started = start_cart(
        UserFactory(), currency, *((listing_of(s, price=a), 1) for s, a in zip(shops, amounts, strict=True))
    )
    pay(sandbox, str(started.group and started.group.checkout_session_id))
    settle(started.orders[0], django_capture_on_commit_callbacks)
    payment = Payment.objects.get()

    shares = group_dispute_shares(payment=payment, amount=5_000)
    assert [s.disputed for s in shares] == [3_429, 1_143, 428]
    first = 3_076 if currency == "usd" else 3_086
    assert [s.reversal for s in shares] == [first, 1_086, 428]
    assert [s.fee_given_back for s in shares] == [3_429 - first, 57, 0]

    full = group_dispute_shares(payment=payment, amount=payment.amount)
    assert [s.reversal for s in full] == [a - f for a, f in zip(amounts, fees, strict=True)]
    assert [s.fee_given_back for s in full] == list(fees)
    for _ in range(40):
        amount = data.draw(st.integers(min_value=1, max_value=payment.amount))
        shares = group_dispute_shares(payment=payment, amount=amount)
        assert sum(s.disputed for s in shares) == amount
        for share in shares:
            assert share.reversal + share.fee_given_back == share.disputed
            assert 0 <= share.reversal <= share.order.seller_net and share.fee_given_back >= 0


@pytest.mark.parametrize("seller_id", ["²", "9" * 20_000, "12a", "-3"])
def test_a_shop_id_that_is_no_id_is_sent_back_to_the_cart_with_a_sentence(sandbox: Any, seller_id: str) -> None:
    seller = active_seller(sandbox, currency="usd", shop="Kiln & Co")
    buyer = UserFactory()
    cart_with(buyer, (listing_of(seller, price=1_000), 1))
    client = signed_in(buyer)
    response = client.post("/checkout/", {"seller_id": seller_id, "currency": "usd"}, follow=True)
    assert response.status_code == 200 and "Choose which shop to pay." in response.content.decode()
    assert not Order.objects.exists()


def test_a_cart_changed_in_another_tab_between_its_check_and_its_lock_makes_nothing(sandbox: Any) -> None:
    """The cart's groups are checked, then the cart is read again under its row lock: if another tab
    changed it in between, no order, group or reservation is made and the buyer is asked to look."""
    from catalog.selectors import cart_view
    from orders.services import groups as group_services

    shops = three_shops(sandbox, "usd")[:2]
    mug, print_ = (listing_of(shop, price=2_000, stock=5) for shop in shops)
    buyer = UserFactory()
    cart = cart_with(buyer, (mug, 1), (print_, 1))
    checked = [group for group in cart_view(cart=cart).groups if group.currency == "usd"]
    CartItem.objects.filter(cart=cart, listing=mug).update(quantity=3)  # the other tab

    with pytest.raises(Conflict) as refused:
        group_services._group_for_checkout(buyer=buyer, cart=cart, groups=checked, currency="usd")
    assert refused.value.code == "cart_changed" and "changed meanwhile" in refused.value.message
    assert not Order.objects.exists() and not CheckoutGroup.objects.exists()
    assert [Listing.objects.get(pk=x.pk).stock for x in (mug, print_)] == [5, 5]

    started = services.checkout_start_cart(buyer=buyer, cart=cart, currency="usd", **URLS)  # checked again: pays
    assert sorted(line.quantity for order in started.orders for line in order.lines.all()) == [1, 3]


@pytest.mark.parametrize(("currency", "fixed", "fees"), [("usd", 30, (190, 580)), ("jpy", 30, (190, 580))])
def test_each_shop_of_one_payment_pays_its_own_fixed_fee_as_the_console_says(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str, fixed: int, fees: tuple[int, int]
) -> None:
    """One payment for two shops at 10 % + a fixed amount: each shop's order pays the fixed amount (the fee
    policy of a single-shop checkout, per order). The console's fees page said the fixed amount "is taken
    once per payment", which a payment for several shops contradicted."""
    fee_rule_set(currency=currency, basis_points=1_000, fixed_amount=fixed)
    towel, board = (
        listing_of(active_seller(sandbox, currency=currency, shop=shop), price=price, stock=5)
        for shop, price in (("Lisbon Linen", 1_600), ("Brooklyn Ceramics", 5_500))
    )
    started = start_cart(UserFactory(), currency, (towel, 1), (board, 1))
    pay(sandbox, str(started.group and started.group.checkout_session_id))
    settle(started.orders[0], django_capture_on_commit_callbacks)
    orders = Order.objects.filter(checkout_group=started.group).order_by("amount_total")
    assert tuple(o.application_fee_amount for o in orders) == fees
    page = signed_in(make_platform_admin()).get("/console/fees/").content.decode()
    assert "once per payment" not in page
    assert "the fixed amount is taken once per order (a payment for several shops is one order per shop)" in page
    assert_ledger_equals_stripe()
