"""A group order's transfer that Stripe refuses every time: after the outbox's last attempt the
platform admins get one email and the console's home lists the shop and what it is owed, until a
transfer is made. The other shops of the payment are paid as usual and the ledger equals Stripe."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import MAX_ATTEMPTS, outbox_deliver, retry_delay
from orders import services
from orders.models import Order
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import listing_of, pay
from tests.orders.test_multi_seller import start_cart, three_shops
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.sellers.conftest import set_requirements

pytestmark = pytest.mark.django_db


def _deliver_now(key: str) -> str:
    """One attempt of the outbox row `key`, made due now (the sweeper's backoff, without the wait)."""
    row = OutboxMessage.objects.get(key=key)
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    return outbox_deliver(message_id=row.pk)


@pytest.mark.parametrize(("currency", "price", "owed"), [("usd", 4_000, "$40.00"), ("jpy", 4_000, "¥4,000")])
def test_a_transfer_stripe_keeps_refusing_is_told_to_the_admins_once_and_listed_on_the_console(
    sandbox: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_num_queries: Any,
    currency: str,
    price: int,
    owed: str,
) -> None:
    admin = make_platform_admin()
    paid_shop, refused_shop = three_shops(sandbox, currency)[1:]  # 5 % fee; no fee, so owed the whole price
    started = start_cart(
        UserFactory(), currency, *((listing_of(shop, price=price), 1) for shop in (paid_shop, refused_shop))
    )
    pay(sandbox, str(started.group and started.group.checkout_session_id))
    with django_capture_on_commit_callbacks(execute=False):  # paid; the transfers wait in the outbox
        services.order_sync_from_stripe(order=started.orders[0])
    paid, refused = (Order.objects.get(pk=o.pk) for o in started.orders)
    set_requirements(  # Stripe turns the shop's transfers off before its share is sent
        sandbox,
        str(refused_shop.stripe_account_id),
        currently_due=["individual.verification.document"],
        disabled_reason="requirements.past_due",
    )
    assert _deliver_now(f"order-transfer:{paid.pk}") == "delivered"
    for _ in range(MAX_ATTEMPTS - 1):
        assert _deliver_now(f"order-transfer:{refused.pk}") == "pending"
    assert not OutboxMessage.objects.filter(key=f"group-transfer-failed:{refused.pk}").exists()
    assert _deliver_now(f"order-transfer:{refused.pk}") == "dead"

    assert _deliver_now(f"group-transfer-failed:{refused.pk}") == "delivered"
    assert _deliver_now(f"group-transfer-failed:{refused.pk}") == "skipped"  # once
    [email] = [m for m in mail.outbox if m.to == [admin.email]]
    assert f"order {refused.pk}" in email.subject and "Tea House" not in email.subject
    assert refused_shop.shop_name in email.subject and owed in email.body
    assert "capabilities" in email.body  # Stripe's own reason
    # How long the outbox tried, as the email and the console say it: the waits between its attempts.
    tried_for = sum((retry_delay(n) for n in range(1, MAX_ATTEMPTS)), start=timedelta())
    said = f"for about {round(tried_for / timedelta(hours=1))} hours"
    assert said in email.body

    client = Client()
    client.force_login(admin)
    with django_assert_num_queries(4):  # session with its user, admin group, dead rows, their orders
        page = client.get(reverse("console_home")).content.decode()
    assert 'data-testid="group-transfers-failed"' in page
    assert f"Order {refused.pk}" in page and owed in page and f"Order {paid.pk}" not in page
    assert said in page
    refused.refresh_from_db()
    assert refused.stripe_transfer_id == "" and paid.__class__.objects.get(pk=paid.pk).stripe_transfer_id
    assert_ledger_equals_stripe()


def test_the_console_home_has_no_banner_when_every_transfer_was_made(client: Client) -> None:
    client.force_login(make_platform_admin())
    assert 'data-testid="group-transfers-failed"' not in client.get(reverse("console_home")).content.decode()


def test_the_admin_retries_the_transfer_once_the_shop_can_receive_it(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The console's Retry gives the dead row its attempts back, with the same key: once Stripe lets
    the shop receive transfers again, its share is sent and the order leaves the console's list."""
    admin = make_platform_admin()
    shops = three_shops(sandbox, "usd")[1:]
    started = start_cart(UserFactory(), "usd", *((listing_of(shop, price=1_500), 1) for shop in shops))
    pay(sandbox, str(started.group and started.group.checkout_session_id))
    with django_capture_on_commit_callbacks(execute=False):
        services.order_sync_from_stripe(order=started.orders[0])
    refused = started.orders[1]
    account = str(shops[1].stripe_account_id)
    set_requirements(sandbox, account, currently_due=["individual.id_number"], disabled_reason="requirements.past_due")
    for _ in range(MAX_ATTEMPTS):
        _deliver_now(f"order-transfer:{refused.pk}")
    set_requirements(sandbox, account, currently_due=[], disabled_reason="")  # the shop sent what Stripe asked

    client = Client()
    client.force_login(admin)
    url = reverse("console_group_transfer_retry", args=[refused.pk])
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(url).status_code == 302
    assert _deliver_now(f"order-transfer:{refused.pk}") == "delivered"
    assert Order.objects.get(pk=refused.pk).stripe_transfer_id
    page = client.get(reverse("console_home")).content.decode()
    assert 'data-testid="group-transfers-failed"' not in page
    assert "has no failed transfer" not in page
    assert client.post(url, follow=True).content.decode().count("transfer was made already") == 1
    _deliver_now(f"order-transfer:{started.orders[0].pk}")
    assert_ledger_equals_stripe()
