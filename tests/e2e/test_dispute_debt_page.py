"""On a phone, a seller whose sale was paid out before the dispute was lost reads on the dispute's page
what it owes for it and that its balance could not give its share back: the page said "Your share of the
sale is taken back from your balance" and no figure, while nothing was taken and the money page said it
owed the share. Once a later sale pays the debt, the page says it was taken from later funds. 375 px and
axe-core; USD and JPY, the sandbox over HTTP; the ledger equals Stripe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from marketplace.money import format_money
from payments.models import Dispute, SellerDebt
from payments.recovery import seller_debts_collect
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.orders.conftest import active_seller
from tests.payments.helpers import assert_ledger_equals_stripe, lose_dispute
from tests.payouts.helpers import paid_order, paid_out
from tests.payouts.test_money_pages import NOW

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_lost_dispute_the_balance_could_not_cover_reads_owed_on_the_sellers_dispute_page(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    seller = active_seller(sandbox, currency=currency)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    paid_out(sandbox, str(seller.stripe_account_id))  # its share went to the bank: nothing left to take back
    assert order.payment is not None
    lose_dispute(
        sandbox,
        charge_id=str(order.payment.stripe_charge_id),
        amount=order.amount_total,
        on_commit=django_capture_on_commit_callbacks,
    )
    dispute, debt = Dispute.objects.get(), SellerDebt.objects.get()
    share = order.amount_total - order.application_fee_amount  # 9000 (8970 in USD, the fee's 30 fixed)
    assert (dispute.recovered_amount, debt.amount, debt.collected) == (0, share, 0)
    owed = format_money(share, currency)

    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)
    try:
        page.goto(f"{live_server.url}/sell/disputes/")
        page.get_by_role("link", name=f"Order {order.pk}").click()
        expect(page.get_by_test_id("dispute-debt")).to_have_text(
            f"You owe the platform: {owed}, which your balance could not give back; it is collected from your "
            "next funds."
        )
        expect(page.get_by_test_id("dispute-outcome")).to_have_text(
            "The bank decided for the buyer. Your share of the sale is taken back from your balance as far as it "
            "covered it then; the rest is owed (above)."
        )
        fits_a_phone_and_passes_axe(page)

        later = paid_order(sandbox, seller, 12_000, card=NOW)  # 10800 available at once
        assert seller_debts_collect(seller=seller) == share
        assert later.payment is not None
        page.reload()
        expect(page.get_by_test_id("dispute-debt")).to_have_text(
            f"Your balance could not give back {owed} of your share then: it was taken from your later funds."
        )
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
    assert_ledger_equals_stripe()
