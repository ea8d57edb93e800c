"""Page parts the demo's seeding never shows, so `test_every_page` opens their pages without them: the
console's list of what each shop of a disputed payment gave back, the seller's refund request on a
payment the bank disputed, the fee page's Delete buttons for several sellers' rules, and the money
page's sentence for a negative available balance (a refund after the sale was paid out). Each is built
here through the sandbox, then opened on a 375 px phone with axe-core, as `test_every_page` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from django.urls import reverse
from playwright.sync_api import Browser, expect

from fees.models import FeeRule
from payments.models import RefundOrigin, RefundStatus
from payments.services import refund_create, refund_submit
from tests.e2e.browser import PHONE, Phone, log_in
from tests.factories import make_platform_admin
from tests.orders.conftest import active_seller
from tests.orders.test_multi_seller_disputes import _lose_part_of_a_group_payment
from tests.orders.test_refunds import _client, _paid_two_lines, _post
from tests.payments.helpers import new_events, process
from tests.payouts.helpers import DAY, advance, paid_order, process_connect


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_parts_the_demo_does_not_show_fit_a_phone_and_pass_axe(
    axe_js: Path, live_server: Any, browser: Browser, sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # First, as it moves the sandbox's clock: a seller paid out, then refunding that sale (JPY).
    owing = active_seller(sandbox, currency="jpy", shop="Osaka Owing")
    sold = paid_order(sandbox, owing, 10_000, card="4000000000000077")
    advance(sandbox, DAY)  # midnight: Stripe pays the available balance out
    process_connect(str(owing.stripe_account_id), set())
    paid_order(sandbox, owing, 10_000)  # pending for days
    assert sold.payment is not None
    taken = refund_create(payment=sold.payment, amount=5_000, origin=RefundOrigin.SELLER, order_id=sold.pk)
    assert refund_submit(refund_id=taken.pk).status == RefundStatus.SUCCEEDED

    shops, dispute = _lose_part_of_a_group_payment(
        sandbox, "usd", django_capture_on_commit_callbacks, card="4000000000000077"
    )
    order, _, _ = _paid_two_lines(sandbox, "jpy")
    asked = _post(_client(order.buyer), f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"})
    assert asked.status_code == 201, asked.content
    seen = {e["id"] for e in new_events(set())}
    assert order.payment is not None
    requests.post(
        f"{sandbox.url}/_sandbox/charges/{order.payment.stripe_charge_id}/dispute", json={}, timeout=10
    ).raise_for_status()
    assert "failed" not in process(new_events(seen))
    for shop in shops[:2]:
        FeeRule.objects.update_or_create(currency="usd", seller=shop, category=None, defaults={"basis_points": 500})

    base = live_server.url
    checks = []
    for user, path, part in (
        (make_platform_admin(), reverse("console_dispute_detail", args=[dispute.pk]), f"{shops[2].shop_name}: "),
        (order.seller.user, reverse("sell_refund_requests"), "The buyer's bank has disputed this payment"),
        (make_platform_admin(), reverse("console_fees"), f"Delete the USD rule for {shops[1].shop_name}"),
        (owing.user, reverse("sell_money"), "Nothing is paid out to your bank until then."),
    ):
        context = browser.new_context(viewport=PHONE)
        context.add_init_script(path=axe_js)
        phone = Phone(context.new_page(), user.email)
        log_in(phone.page, base, user.email)
        phone.page.goto(base + path)
        expect(phone.page.locator("main")).to_contain_text(part)
        phone.check()
        checks += phone.checks
        context.close()

    assert [str(c) for c in checks if not c.ok] == []
    assert len(checks) == 4
