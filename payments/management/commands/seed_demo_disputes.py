"""Demo dispute: a second demo buyer pays the first active JPY shop (Hokusai Prints, the demo's
active seller) with Stripe's dispute test card
(4000 0000 0000 0259) through the sandbox, and the dispute it opens is recorded the way its events
record it (`dispute_sync`), so the console's queue and the seller's disputes have one to show.

Called by `seed_demo` after the orders. Idempotent: a shop that already has a dispute is skipped.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from catalog.models import Cart, CartItem, Listing
from marketplace.errors import DomainError
from marketplace.gateway import disputes as gateway_disputes
from marketplace.management.commands.seed_demo import DEMO_PASSWORD, sandbox_checkout_pay
from marketplace.models import User
from orders import services
from payments.disputes import dispute_sync
from payments.models import Dispute
from sellers.models import Seller

DISPUTING_BUYER = "buyer.disputes@marketplace.test"
DISPUTE_CARD = "4000000000000259"
CURRENCY = "jpy"


class Command(BaseCommand):
    help = "Seed one disputed demo order (JPY) through the Stripe sandbox."

    def handle(self, *args: Any, **options: Any) -> None:
        seller = Seller.objects.sellable().filter(default_currency=CURRENCY).order_by("pk").first()
        if seller is None:
            self.stdout.write("Demo dispute: no active JPY shop, skipped")
            return
        if Dispute.objects.filter(seller=seller).exists():
            self.stdout.write(f"Demo dispute: {seller.shop_name} already has one")
            return
        listing = Listing.objects.visible().filter(seller=seller, currency=CURRENCY, stock__gt=0).first()
        if listing is None:
            self.stdout.write(f"Demo dispute: {seller.shop_name} has no listing in stock, skipped")
            return
        buyer, created = User.objects.get_or_create(email=DISPUTING_BUYER)
        if created:
            buyer.set_password(DEMO_PASSWORD)
            buyer.save()
        verified = {"verified": True, "primary": True}
        EmailAddress.objects.get_or_create(user=buyer, email=DISPUTING_BUYER, defaults=verified)
        cart, _ = Cart.objects.get_or_create(user=buyer)
        CartItem.objects.update_or_create(cart=cart, listing=listing, defaults={"quantity": 1})
        site = settings.SITE_URL.rstrip("/")
        try:
            started = services.checkout_start(
                buyer=buyer,
                cart=cart,
                seller_id=seller.pk,
                currency=CURRENCY,
                success_url=site + reverse("checkout_success") + "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=site + reverse("checkout_canceled") + "?order={ORDER_ID}",
            )
            sandbox_checkout_pay(str(started.order.checkout_session_id), card=DISPUTE_CARD)
            order = services.order_sync_from_stripe(order=started.order)
            if order.payment is None:
                raise CommandError("the disputed demo order was not paid")
            for remote in gateway_disputes.disputes_of_charge(order.payment.stripe_charge_id):
                dispute_sync(dispute_id=remote.id)
        except (DomainError, OSError) as exc:
            raise CommandError(f"could not seed a dispute on {seller.shop_name}: {exc}") from exc
        self.stdout.write(f"Demo dispute: order {order.pk} of {seller.shop_name}, disputed by {DISPUTING_BUYER}")
