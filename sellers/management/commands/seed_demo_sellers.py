"""Demo sellers in every interesting state, made through the sandbox so their Stripe side is real.

Called by `seed_demo` (after the sandbox is up). The app's own path creates each seller and its
Express account (the gateway); only what a *person* would do on Stripe's side (submitting the hosted
onboarding form, Stripe later asking for more by a deadline) goes through the sandbox's control API,
which is for demo and test seeding only. Idempotent: an existing seller is re-read, not re-made.

Each seller's history (onboarded, then asked for more, restricted or paused) is one transaction, so
its follow-ups (the seller's emails) are delivered once it is in the state it ends in: the restricted
and the paused sellers pass through "active" on the way, and are not mailed that they are ready to
sell (`sellers.follow_ups.onboarding_complete_email`). Stripe's webhooks meanwhile find no seller
for the account yet, and the ones after find it as it ends.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from marketplace.errors import DomainError
from marketplace.gateway import accounts as stripe_accounts
from marketplace.management.commands.seed_demo import DEMO_PASSWORD
from marketplace.models import User
from sellers.models import Seller
from sellers.services import seller_create, seller_dashboard_link_create, seller_pause, seller_refresh_from_stripe


@dataclass(frozen=True)
class DemoSeller:
    email: str
    shop: str
    country: str
    currency: str
    state: str  # active | action_required | restricted | later | onboarding | paused


DEMO_SELLERS = [
    DemoSeller("seller.active@marketplace.test", "Hokusai Prints", "JP", "jpy", "active"),
    DemoSeller("seller.active.us@marketplace.test", "Brooklyn Ceramics", "US", "usd", "active"),
    DemoSeller("seller.action@marketplace.test", "Portland Linen", "US", "usd", "action_required"),
    DemoSeller("seller.restricted@marketplace.test", "Berlin Bikes", "DE", "eur", "restricted"),
    DemoSeller("seller.later@marketplace.test", "Dublin Wool", "IE", "eur", "later"),
    DemoSeller("seller.onboarding@marketplace.test", "Paris Textiles", "FR", "eur", "onboarding"),
    DemoSeller("seller.paused@marketplace.test", "Austin Leather", "US", "usd", "paused"),
]
PAUSE_REASON = "Demo: several buyers reported items that did not match their photos."


def _control(path: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST to the sandbox's control API (demo seeding only; the app never calls it)."""
    base = (settings.STRIPE_API_BASE or "").rstrip("/")
    if not base:
        raise CommandError("STRIPE_API_BASE is not set: demo sellers are seeded through the Stripe sandbox.")
    request = urllib.request.Request(  # noqa: S310 - our own sandbox's address from settings
        f"{base}{path}", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
        result: dict[str, Any] = json.loads(response.read())
    return result


def _user(email: str) -> User:
    user, created = User.objects.get_or_create(email=email)
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def _site(name: str, seller: Seller) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=[seller.pk])


class Command(BaseCommand):
    help = "Seed demo sellers in every state (active ... paused) through the Stripe sandbox."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Demo sellers (password for all: {DEMO_PASSWORD})")
        for demo in DEMO_SELLERS:
            try:
                with transaction.atomic():
                    seller = self._seed(demo)
            except (DomainError, OSError) as exc:
                raise CommandError(f"could not seed {demo.email}: {exc}") from exc
            line = f"  {seller.get_status_display():<22} {demo.email:<38} {demo.shop}"
            if seller.details_submitted and seller.disconnected_at is None:
                with contextlib.suppress(DomainError):
                    line += f"\n{'':<25}Express dashboard (single use): {seller_dashboard_link_create(seller=seller)}"
            if seller.current_deadline:
                line += f"\n{'':<25}Stripe deadline: {seller.current_deadline:%Y-%m-%d %H:%M} UTC"
            self.stdout.write(line)

    def _seed(self, demo: DemoSeller) -> Seller:
        user = _user(demo.email)
        existing = Seller.objects.filter(user=user).first()
        if existing is not None and existing.stripe_account_id:
            return seller_refresh_from_stripe(seller=existing)
        seller = seller_create(user=user, shop_name=demo.shop, country=demo.country, default_currency=demo.currency)
        if demo.state == "onboarding":
            return seller_refresh_from_stripe(seller=seller)
        link = stripe_accounts.account_link_create(
            account_id=str(seller.stripe_account_id),
            link_type="account_onboarding",
            refresh_url=_site("sell_onboarding_refresh", seller),
            return_url=_site("sell_onboarding_return", seller),
        )
        token = link.url.rstrip("/").rsplit("/", 1)[-1]
        # "later": the person ticks "leave identity verification for later" on Stripe's form.
        _control(f"/_sandbox/account_links/{token}/complete", {"requirements_due": demo.state == "later"})
        seller = seller_refresh_from_stripe(seller=seller)  # active (or still onboarding, for "later")
        if demo.state == "action_required":
            _control(
                f"/_sandbox/accounts/{seller.stripe_account_id}/requirements",
                {
                    "currently_due": ["individual.verification.document", "individual.id_number"],
                    "past_due": [],
                    "current_deadline": int(time.time()) + 5 * 86400,
                },
            )
        elif demo.state == "restricted":  # an active seller who did not answer in time
            due = ["individual.verification.document"]
            _control(
                f"/_sandbox/accounts/{seller.stripe_account_id}/requirements",
                {"currently_due": due, "past_due": due, "disabled_reason": "requirements.past_due"},
            )
        elif demo.state == "paused":
            seller_pause(seller=seller, actor=None, reason=PAUSE_REASON)
        return seller_refresh_from_stripe(seller=seller)
