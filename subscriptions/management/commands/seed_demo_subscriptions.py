"""Demo subscriptions: the last listing of the demo's JPY shop (Hokusai Prints) is sold monthly and
the last of its USD shop (Brooklyn Ceramics) yearly, and the demo buyer subscribes to both through
the sandbox's Checkout, recorded the way the return page records them
(`subscription_checkout_finish`: the subscription, its first invoice, the payment and its ledger
postings). So "Subscribe" on a listing, "Your subscriptions", the sellers' subscribers and money
pages and a payment to refund all have something to show.

The last listing, not the first: the first is the one the demo's orders and cart pages buy once.
Called by `seed_demo` after the disputes. Idempotent: a shop that has a subscriber is skipped.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from catalog.models import Listing
from marketplace.errors import DomainError
from marketplace.management.commands.seed_demo import sandbox_checkout_pay
from marketplace.models import User
from sellers.models import Seller
from subscriptions import services
from subscriptions.models import Subscription

DEMO_BUYER = "buyer@marketplace.test"
# The shop's email, the interval its plan is sold by.
PLANS = (("seller.active@marketplace.test", "month"), ("seller.active.us@marketplace.test", "year"))


class Command(BaseCommand):
    help = "Sell one listing of each demo shop by subscription and subscribe the demo buyer (through the sandbox)."

    def handle(self, *args: Any, **options: Any) -> None:
        buyer = User.objects.filter(email=DEMO_BUYER).first()
        if buyer is None:
            self.stdout.write("Demo subscriptions: no demo buyer, skipped")
            return
        site = settings.SITE_URL.rstrip("/")
        for email, interval in PLANS:
            seller = Seller.objects.sellable().filter(user__email=email).first()
            listing = Listing.objects.visible().filter(seller=seller).order_by("-pk").first() if seller else None
            if seller is None or listing is None:
                self.stdout.write(f"Demo subscriptions: {email} has no shop that can sell, skipped")
                continue
            if Subscription.objects.filter(seller=seller).exists():
                self.stdout.write(f"Demo subscriptions: {seller.shop_name} already has a subscriber")
                continue
            services.plan_set(seller=seller, listing_id=listing.pk, interval=interval)
            try:
                start = services.subscription_checkout_start(
                    buyer=buyer,
                    listing_id=listing.pk,
                    attempt=f"demo-subscription-{listing.pk}",
                    success_url=site + reverse("subscription_started") + "?session_id={CHECKOUT_SESSION_ID}",
                    cancel_url=site + reverse("storefront_listing", args=[listing.pk]),
                )
                sandbox_checkout_pay(start.session_id)
                sub = services.subscription_checkout_finish(buyer=buyer, session_id=start.session_id)
            except (DomainError, OSError) as exc:
                raise CommandError(f"could not seed a subscription to {listing.title}: {exc}") from exc
            if sub is None:
                raise CommandError(f"the demo subscription to {listing.title} was not paid")
            self.stdout.write(f"Demo subscriptions: {DEMO_BUYER} subscribes to {listing.title} ({interval}ly)")
