"""Seed the demo: a platform admin and a buyer, then whatever the apps add (sellers, listings).

Idempotent: running it twice changes nothing. Prints the logins.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db import transaction

from marketplace.models import User

DEMO_PASSWORD = "demo-password-1"
# Each app's own seeding command, run in this order when it exists.
APP_SEEDERS = ("seed_demo_sellers", "seed_demo_listings", "seed_demo_orders", "seed_demo_disputes")


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
