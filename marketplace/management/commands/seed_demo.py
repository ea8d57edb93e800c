"""Seed the demo: a platform admin and a buyer, then whatever the apps add (sellers, listings).

Idempotent: running it twice changes nothing. Prints the logins.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from marketplace.models import User

DEMO_PASSWORD = "demo-password-1"
# Each app's own seeding command, run in this order when it exists.
APP_SEEDERS = (
    "seed_demo_sellers",
    "seed_demo_listings",
    "seed_demo_orders",
    "seed_demo_disputes",
    "seed_demo_subscriptions",
)


def sandbox_checkout_pay(session_id: str, *, card: str = "4242424242424242") -> dict[str, Any]:
    """The buyer's part of a demo payment: submit Stripe's hosted Checkout page for `session_id` with
    `card`, through the sandbox's control API (the demo runs on the sandbox; nothing else calls this)."""
    base = (settings.STRIPE_API_BASE or "").rstrip("/")
    if not base:
        raise CommandError("STRIPE_API_BASE is not set: the demo's payments are made through the Stripe sandbox.")
    request = urllib.request.Request(  # noqa: S310 - our own sandbox's address from settings
        f"{base}/_sandbox/checkout/sessions/{session_id}/pay",
        data=json.dumps({"card": card}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
        result: dict[str, Any] = json.loads(response.read())
    return result


def _user(email: str, *, staff: bool = False) -> User:
    user, created = User.objects.get_or_create(email=email, defaults={"is_staff": staff})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


class Command(BaseCommand):
    help = "Create demo users (and, through each app's seeder, sellers, listings and orders)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            admin = _user("admin@marketplace.test", staff=True)
            admin.groups.add(Group.objects.get(name=settings.PLATFORM_ADMINS_GROUP))
            _user("buyer@marketplace.test")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        self.stdout.write("  platform admin  admin@marketplace.test")
        self.stdout.write("  buyer           buyer@marketplace.test")
        available = get_commands()
        for seeder in APP_SEEDERS:
            if seeder in available:
                call_command(seeder, stdout=self.stdout, stderr=self.stderr)
