"""Demo orders: the demo buyer pays one listing of each of two active shops (USD and JPY), each shop's
first (its last is sold by subscription, `seed_demo_subscriptions`), for real
through the sandbox: the app's own checkout creates the order and the Checkout Session, and only the
buyer's part (submitting the hosted page with 4242 4242 4242 4242) goes through the sandbox's control
API, which is for demo and test seeding only. The order then becomes paid the way the success page
makes it paid (the session is re-read from Stripe).

Then one payment for several shops: a cart with one listing of each active USD shop (two in the
demo: Brooklyn Ceramics and Portland Linen) paid at once, so a newcomer sees one Checkout Session, one
order per shop and one transfer per shop from the one charge (separate charges and transfers).

Called by `seed_demo` after sellers and listings. Idempotent: a shop the demo buyer already paid,
and a payment for several shops already made, are skipped.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from catalog.models import Cart, CartItem, Listing
from marketplace.errors import DomainError
from marketplace.management.commands.seed_demo import sandbox_checkout_pay
from marketplace.models import User
from orders import services
from orders.models import PAID_STATUSES, Order
from sellers.models import Seller

DEMO_BUYER = "buyer@marketplace.test"
CURRENCIES = ("usd", "jpy")
GROUP_CURRENCY = "usd"


class Command(BaseCommand):
    help = "Seed a couple of paid demo orders (USD and JPY) through the Stripe sandbox."

    def handle(self, *args: Any, **options: Any) -> None:
        buyer = User.objects.filter(email=DEMO_BUYER).first()
        if buyer is None:
            raise CommandError(f"Run seed_demo first: the demo buyer {DEMO_BUYER} does not exist.")
        site = settings.SITE_URL.rstrip("/")
        success = site + reverse("checkout_success") + "?session_id={CHECKOUT_SESSION_ID}"
        cancel = site + reverse("checkout_canceled") + "?order={ORDER_ID}"
        self.stdout.write("Demo orders (buyer " + DEMO_BUYER + ")")
        for currency in CURRENCIES:
            seller = Seller.objects.sellable().filter(default_currency=currency).order_by("pk").first()
            if seller is None:
                self.stdout.write(f"  no active {currency.upper()} shop: skipped")
                continue
            if Order.objects.filter(buyer=buyer, seller=seller, status__in=PAID_STATUSES).exists():
                self.stdout.write(f"  {seller.shop_name}: already has a paid demo order")
                continue
            listing = (
                Listing.objects.visible().filter(seller=seller, currency=currency, stock__gt=0).order_by("pk").first()
            )
            if listing is None:
                self.stdout.write(f"  {seller.shop_name}: no listing in stock, skipped")
                continue
            cart, _ = Cart.objects.get_or_create(user=buyer)
            CartItem.objects.update_or_create(cart=cart, listing=listing, defaults={"quantity": 1})
            try:
                started = services.checkout_start(
                    buyer=buyer,
                    cart=cart,
                    seller_id=seller.pk,
                    currency=currency,
                    success_url=success,
                    cancel_url=cancel,
                )
                sandbox_checkout_pay(str(started.order.checkout_session_id))
                order = services.order_sync_from_stripe(order=started.order)
            except (DomainError, OSError) as exc:
                raise CommandError(f"could not seed an order from {seller.shop_name}: {exc}") from exc
            self.stdout.write(
                f"  order {order.pk} {order.get_status_display():<8} {seller.shop_name}: {listing.title}, "
                f"fee {order.application_fee_amount} / net {order.seller_net} {currency.upper()} (minor units)"
            )
        self._group_payment(buyer, success=success, cancel=cancel)

    def _group_payment(self, buyer: User, *, success: str, cancel: str) -> None:
        if Order.objects.filter(buyer=buyer, checkout_group__isnull=False, status__in=PAID_STATUSES).exists():
            self.stdout.write("  payment for several shops: already made")
            return
        listings = [
            listing
            for seller in Seller.objects.sellable().filter(default_currency=GROUP_CURRENCY).order_by("pk")[:3]
            if (listing := Listing.objects.visible().filter(seller=seller, stock__gt=0).order_by("pk").first())
        ]
        if len(listings) < 2:
            self.stdout.write("  payment for several shops: fewer than two active USD shops, skipped")
            return
        cart, _ = Cart.objects.get_or_create(user=buyer)
        cart.items.all().delete()
        for listing in listings:
            CartItem.objects.create(cart=cart, listing=listing, quantity=1)
        try:
            started = services.checkout_start_cart(
                buyer=buyer, cart=cart, currency=GROUP_CURRENCY, success_url=success, cancel_url=cancel
            )
            if started.group is None:
                raise CommandError("the cart of several shops did not make one payment for them")
            sandbox_checkout_pay(str(started.group.checkout_session_id))
            services.order_sync_from_stripe(order=started.orders[0])
            for order in started.orders:  # now, not at the outbox's commit: the seed is done when it returns
                services.order_transfer_to_seller(order_id=order.pk)
        except (DomainError, OSError) as exc:
            raise CommandError(f"could not seed a payment for several shops: {exc}") from exc
        orders = Order.objects.filter(checkout_group=started.group).select_related("seller").order_by("pk")
        shops = ", ".join(f"order {o.pk} {o.seller.shop_name} net {o.seller_net}" for o in orders)
        self.stdout.write(f"  one payment for {len(listings)} shops ({GROUP_CURRENCY.upper()}, minor units): {shops}")
