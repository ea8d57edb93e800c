"""Stock, expiry, late payment, shops that stop selling and races, for every shop of a payment for
several shops: one shop's part that cannot be delivered is refunded alone, with a sentence, and
the other shops' orders go ahead; the ledger still equals Stripe. Against the sandbox, USD and JPY."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from catalog.models import Listing
from marketplace.gateway import checkout as gateway_checkout
from marketplace.ledger.models import LedgerTransaction
from orders import emails, services
from orders.models import Order, OrderStatus
from orders.services.payment_state import GROUP_SHOP_STOPPED
from orders.services.refunds import order_refund
from payments.models import Payment, RefundOrigin
from payouts.models import Transfer
from sellers.models import Seller
from sellers.services import seller_pause
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, signed_in
from tests.orders.test_races import run_together
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process, stripe_balances


def _two_shops(sandbox: Any, currency: str) -> tuple[Seller, Seller, Listing, Listing]:
    kiln = active_seller(sandbox, currency=currency, shop="Kiln & Co")
    tea = active_seller(sandbox, currency=currency, shop="Tea House")
    return kiln, tea, listing_of(kiln, price=4_000, stock=1, title="Vase"), listing_of(tea, price=2_500, stock=1)


def _start(buyer: Any, currency: str, *items: tuple[Listing, int]) -> services.CartCheckoutStart:
    return services.checkout_start_cart(buyer=buyer, cart=cart_with(buyer, *items), currency=currency, **URLS)


def _session_id(started: services.CartCheckoutStart) -> str:
    assert started.group is not None
    return str(started.group.checkout_session_id)


@pytest.mark.django_db
@pytest.mark.parametrize(("currency", "shown"), [("usd", "$25.00"), ("jpy", "¥2,500")])
def test_a_late_payment_whose_one_shop_sold_out_refunds_only_that_shop(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str, shown: str
) -> None:
    kiln, tea, vase, cup = _two_shops(sandbox, currency)
    buyer = UserFactory()
    started = _start(buyer, currency, (vase, 1), (cup, 1))
    session = gateway_checkout.checkout_session_retrieve(_session_id(started), expand_payment=False)
    services.order_expire(session=session)  # the expiry was applied first ...
    assert {o.status for o in Order.objects.filter(checkout_group=started.group)} == {OrderStatus.EXPIRED}
    assert Listing.objects.get(pk=cup.pk).stock == 1 and Listing.objects.get(pk=vase.pk).stock == 1
    other = UserFactory()
    services.checkout_start(  # ... another buyer took the last cup meanwhile ...
        buyer=other, cart=cart_with(other, (cup, 1)), seller_id=tea.pk, currency=currency, **URLS
    )
    pay(sandbox, session.id)  # ... and the payment lands after both
    with django_capture_on_commit_callbacks(execute=True):
        services.order_sync_from_stripe(order=started.orders[0])
        services.order_sync_from_stripe(order=started.orders[1])  # a retried webhook: nothing twice

    vase_order, cup_order = Order.objects.filter(checkout_group=started.group).order_by("pk")
    assert vase_order.status == OrderStatus.PAID and Listing.objects.get(pk=vase.pk).stock == 0
    assert cup_order.status == OrderStatus.REFUNDED
    assert f"We refunded this order ({shown}) in full" in cup_order.status_message
    assert "your orders from the other shops in the same payment go ahead" in cup_order.status_message
    payment = Payment.objects.get()
    assert (payment.amount, payment.amount_refunded) == (6_500, 2_500)
    charge = gateway_checkout.charge_retrieve(payment.stripe_charge_id)
    assert charge.amount_refunded == 2_500, "that shop's part, refunded once"
    assert [t.destination for t in Transfer.objects.all()] == [kiln.stripe_account_id]
    assert stripe_balances(str(tea.stripe_account_id)) == {}
    assert stripe_balances(str(kiln.stripe_account_id)) == {currency: vase_order.seller_net}
    assert_ledger_equals_stripe()
    subjects = sorted(m.subject for m in mail.outbox if m.to == [buyer.email])
    assert len(subjects) == 2 and any("refunded" in s for s in subjects)
    page = signed_in(buyer).get(f"/orders/{cup_order.pk}/").content.decode()
    assert "We refunded this order" in page
    assert f"Refunded: {shown}" in next(m.body for m in mail.outbox if "refunded" in m.subject)
    # The email tells this order's refund, not the payment's: sent again after a refund of the other
    # shop's order (the platform pays it: that shop's funds are still pending), it says the same.
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(
            order=vase_order,
            actor=None,
            origin=RefundOrigin.ADMIN,
            amount=1_000,
            lines=None,
            reason="Goodwill",
            restock=False,
            reverse_transfer=False,
        )
    assert Payment.objects.get().amount_refunded == 3_500
    mail.outbox.clear()
    emails.send_order_refunded(Order.objects.get(pk=cup_order.pk))
    assert f"Refunded: {shown}" in mail.outbox[0].body and mail.outbox[0].subject.endswith(shown)
    assert_ledger_equals_stripe()


@pytest.mark.django_db
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_payment_landing_after_one_shop_was_paused_refunds_that_shop_and_pays_the_other(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    kiln, tea, vase, cup = _two_shops(sandbox, currency)
    buyer = UserFactory()
    started = _start(buyer, currency, (vase, 1), (cup, 1))
    seller_pause(seller=tea, actor=make_platform_admin(), reason="Paused during payment")  # expiry not yet at Stripe
    pay(sandbox, _session_id(started))
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(buyer).get("/checkout/success/", {"session_id": _session_id(started)}, follow=True)
    assert response.redirect_chain[-1][0] == "/orders/"
    assert "Thank you! Your payment went through: one order per shop below." in response.content.decode()
    vase_order, cup_order = Order.objects.filter(checkout_group=started.group).order_by("pk")
    assert (vase_order.status, cup_order.status) == (OrderStatus.PAID, OrderStatus.REFUNDED)
    assert "after this shop stopped taking orders" in cup_order.status_message
    assert Listing.objects.get(pk=cup.pk).stock == 1, "nothing is held for the refunded order"
    assert Transfer.objects.get().destination == kiln.stripe_account_id
    with django_capture_on_commit_callbacks(execute=True):  # the expiry follow-up comes later
        services.orders_close_checkouts_of_seller(seller_id=tea.pk)
    assert gateway_checkout.charge_retrieve(Payment.objects.get().stripe_charge_id).amount_refunded == 2_500
    assert_ledger_equals_stripe()


@pytest.mark.django_db
def test_pausing_one_shop_closes_the_payment_for_every_shop_in_it_and_says_why(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _kiln, tea, vase, cup = _two_shops(sandbox, "usd")
    started = _start(UserFactory(), "usd", (vase, 1), (cup, 1))
    with django_capture_on_commit_callbacks(execute=True):
        seller_pause(seller=tea, actor=make_platform_admin(), reason="Counterfeit reports")
    session = gateway_checkout.checkout_session_retrieve(_session_id(started), expand_payment=False)
    assert session.status == "expired"
    orders = list(Order.objects.filter(checkout_group=started.group))
    assert {(o.status, o.status_message) for o in orders} == {(OrderStatus.CANCELED, GROUP_SHOP_STOPPED)}
    assert (Listing.objects.get(pk=vase.pk).stock, Listing.objects.get(pk=cup.pk).stock) == (1, 1)


@pytest.mark.django_db
def test_the_sweeper_expires_an_overdue_group_session_and_releases_every_shops_stock(sandbox: Any) -> None:
    _kiln, _tea, vase, cup = _two_shops(sandbox, "usd")
    started = _start(UserFactory(), "usd", (vase, 1), (cup, 1))
    later = started.orders[0].checkout_expires_at + services.SWEEP_GRACE * 2
    assert services.orders_sweep_expired(now=later) == 2
    assert {o.status for o in Order.objects.filter(checkout_group=started.group)} == {OrderStatus.EXPIRED}
    assert (Listing.objects.get(pk=vase.pk).stock, Listing.objects.get(pk=cup.pk).stock) == (1, 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_success_page_and_every_webhook_racing_pay_each_shop_once(sandbox: Any, currency: str) -> None:
    """The success page, the session's and the charge's events, twice each, at the same moment in their
    own connections: one payment, each order paid once, one transfer per shop, each posting once."""
    shops = [active_seller(sandbox, currency=currency, shop=f"Shop {i}") for i in range(3)]
    seen = {e["id"] for e in new_events(set())}
    started = _start(UserFactory(), currency, *((listing_of(s, price=1_111 * (i + 1)), 1) for i, s in enumerate(shops)))
    pay(sandbox, _session_id(started))
    events = [e for e in new_events(seen) if e["type"] in ("checkout.session.completed", "charge.succeeded")]
    assert len(events) == 2

    calls = [lambda: services.order_confirm_payment(order=started.orders[0])]
    calls += [lambda e=e: process([e]) for e in events]  # type: ignore[misc]
    calls += [lambda e=e: process([e], copy=True) for e in events]  # type: ignore[misc]
    results = run_together(calls)

    assert all(r == ["processed"] for r in results[1:]), results[1:]
    assert Payment.objects.count() == 1
    assert {o.status for o in Order.objects.filter(checkout_group=started.group)} == {OrderStatus.PAID}
    assert Transfer.objects.count() == 3
    assert process([e for e in new_events(seen) if e["type"] == "transfer.created"]) == ["processed"] * 3
    kinds = sorted(LedgerTransaction.objects.values_list("kind", flat=True))
    assert kinds == ["charge", "transfer", "transfer", "transfer"]
    assert_ledger_equals_stripe()


@pytest.mark.django_db(transaction=True)
def test_two_buyers_racing_for_the_last_unit_in_carts_of_two_shops_make_one_group(sandbox: Any) -> None:
    _kiln, tea, vase, cup = _two_shops(sandbox, "usd")
    other_vase = listing_of(tea, price=700, stock=5, title="Bowl")
    buyers = [UserFactory() for _ in range(4)]
    carts = [cart_with(b, (cup, 1), (vase if i % 2 else other_vase, 1)) for i, b in enumerate(buyers)]
    results = run_together(
        [
            lambda b=b, c=c: services.checkout_start_cart(buyer=b, cart=c, currency="usd", **URLS)  # type: ignore[misc]
            for b, c in zip(buyers, carts, strict=True)
        ]
    )
    winners = [r for r in results if isinstance(r, services.CartCheckoutStart)]
    assert len(winners) == 1, results
    assert all("sold out" in str(r) or "Out of stock" in str(r) for r in results if r not in winners)
    assert Listing.objects.get(pk=cup.pk).stock == 0
