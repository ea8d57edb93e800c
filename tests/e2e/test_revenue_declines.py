"""The README's walk: pay with 4000 0000 0000 0002 (declined), then with 4242 4242 4242 4242 on the same
Stripe page. The console's payment health said "No declined payments." under "Declines by reason",
while Stripe holds the declined charge: it counts checkouts left unpaid by a decline, the paid one as
paid. The page now says what it counts, so an admin comparing it with Stripe's failed charges reads
why they differ; a checkout left declined is listed with the bank's reason. 375 px with axe-core,
the live server and the sandbox, USD and JPY."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from orders.models import Order
from tests.e2e.browser import log_in, on_a_phone
from tests.factories import make_platform_admin
from tests.orders.conftest import active_seller, pay
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.payouts.helpers import new_events, paid_order, process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DECLINED = "4000000000000002"


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_card_declined_then_another_paid_is_not_read_as_no_decline(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None, currency: str
) -> None:
    seller = active_seller(sandbox, currency=currency)
    order = paid_order(sandbox, seller, 2_000, card=DECLINED)  # declined: the page stays open
    assert order.payment_error and order.paid_at is None
    seen = {e["id"] for e in new_events(set())}
    pay(sandbox, str(order.checkout_session_id))  # the buyer types 4242 on the same page
    assert "failed" not in process(new_events(seen))
    assert Order.objects.get(pk=order.pk).paid_at is not None

    phone = on_a_phone(page, axe_js, "admin")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/revenue/")
    says = page.get_by_test_id("declines-none")
    expect(says).to_have_text(
        "No checkout is left unpaid by a declined card. A card declined, then another that paid on the same "
        "page, counts as paid: Stripe lists that declined charge among its failed payments."
    )
    expect(page.get_by_text("No declined payments.")).to_have_count(0)
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []

    left = paid_order(sandbox, seller, 3_000, card=DECLINED)  # declined, and left unpaid
    page.reload()
    expect(page.get_by_test_id("declines")).to_have_text(f"{left.payment_error} (1 order)")
    expect(page.get_by_test_id("declines-says")).to_contain_text("Checkouts left unpaid by a declined card")
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert_ledger_equals_stripe()
