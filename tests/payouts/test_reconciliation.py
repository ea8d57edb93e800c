"""Reconciliation against the sandbox over HTTP: paid orders and payouts (paid, failed) in USD and
JPY reconcile with 0 differences; a corrupted ledger row, a posting Stripe never made and a Stripe
transaction the ledger lacks are each found, with the Stripe object and our order; a fixed
difference disappears on the next run; `manage.py reconcile` prints one line and exits non-zero;
query counts do not grow with the number of transactions."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.errors import PaymentProviderError
from marketplace.gateway import ACCESS_REFUSED, KEY_REFUSED
from marketplace.ledger import flows
from marketplace.ledger.chart import BUYER_PAYMENTS, PLATFORM_BALANCE
from marketplace.ledger.models import LedgerLeg, LedgerTransaction
from marketplace.ledger.services import Leg, ledger_post, ledger_post_one, ledger_reverse
from orders import services as order_services
from orders.models import Order
from payouts.models import DifferenceKind, Payout, ReconciliationDifference, ReconciliationLine, ReconciliationRun
from payouts.reconciliation import reconcile
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, signed_in
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.payouts.helpers import DAY, advance, control, paid_order, process_connect

pytestmark = pytest.mark.django_db(transaction=True)  # the command runs outside a test transaction
NOW = "4000000000000077"


def _world(sandbox: Any) -> dict[str, Any]:
    """A USD and a JPY seller with paid orders, one payout paid, one failed (funds back)."""
    usd, jpy = active_seller(sandbox), active_seller(sandbox, currency="jpy", shop="Kyoto Paper")
    orders = [paid_order(sandbox, usd, 10_000, card=NOW), paid_order(sandbox, jpy, 5_000, card=NOW)]
    orders.append(paid_order(sandbox, usd, 2_500))  # still pending at Stripe
    seen: set[str] = set()
    advance(sandbox, DAY)
    for seller in (usd, jpy):
        process_connect(str(seller.stripe_account_id), seen)
    jpy_payout = Payout.objects.get(currency="jpy")
    control(sandbox, f"payouts/{jpy_payout.stripe_id}/fail", failure_code="account_closed")
    advance(sandbox, DAY)
    for seller in (usd, jpy):
        process_connect(str(seller.stripe_account_id), seen)
    assert_ledger_equals_stripe()
    return {"usd": usd, "jpy": jpy, "orders": orders}


def test_a_consistent_world_reconciles_with_no_differences_and_reruns_the_same(sandbox: Any) -> None:
    _world(sandbox)
    first = reconcile()
    assert first.run.differences == 0 and first.run.accounts == 3
    # platform: 3 charges, 3 transfers, 3 fees; sellers: 3 payments, 2 payouts, 1 failure
    assert first.run.stripe_transactions == 15
    assert not ReconciliationLine.objects.exists()  # the staging rows go with the run
    assert reconcile().run.differences == 0
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert out.getvalue().strip().endswith(": 0 differences")
    out = StringIO()
    call_command("reconcile", "--account", "platform", stdout=out)  # "1 accounts" read as a typo
    assert " of 1 account against the ledger: 0 differences" in out.getvalue()


def test_a_corrupted_ledger_row_is_found_with_its_stripe_object_and_order_then_clears(sandbox: Any) -> None:
    world = _world(sandbox)
    order = world["orders"][0]
    charge = order.payment.stripe_charge_id
    posting = LedgerTransaction.objects.get(source_id=charge, kind="charge")
    legs = list(posting.legs.order_by("pk"))
    with connection.cursor() as cursor:  # what a bad migration or a hand edit could do: both sides, balanced
        cursor.execute("SET session_replication_role = replica")  # the ledger's triggers refuse UPDATE
        try:
            for leg in legs:
                if abs(leg.amount) == 10_000:
                    LedgerLeg.objects.filter(pk=leg.pk).update(amount=leg.amount + (1 if leg.amount > 0 else -1))
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")

    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("reconcile", stdout=out)
    assert exc.value.code == 1 and out.getvalue().strip().endswith(": 1 difference")
    diff = ReconciliationDifference.objects.get()
    assert (diff.key, diff.kind, diff.stripe_account, diff.currency) == (
        charge,
        DifferenceKind.AMOUNT_MISMATCH,
        "",
        "usd",
    )
    assert (diff.stripe_amount, diff.ledger_amount, diff.stripe_fee, diff.ledger_fee) == (10_000, 10_001, 320, 320)
    assert diff.order_id == order.pk and diff.stripe_id.startswith("txn_") and diff.stripe_type == "charge"

    admin = signed_in(make_platform_admin(email="root@example.com"))
    page = admin.get("/console/reconciliation/").content.decode()
    assert charge in page and f"Order {order.pk}" in page and "Amounts differ" in page

    # The fix: a correcting posting on the same Stripe object (the ledger is corrected by new
    # entries, never edited); the next run no longer finds the difference.
    ledger_post(
        source_id=charge,
        kind="correction",
        description="undo the corrupted cent",
        legs=[Leg(PLATFORM_BALANCE, -1, "usd"), Leg(BUYER_PAYMENTS, 1, "usd")],
        occurred_at=timezone.now(),
    )
    # The admin checks again from the console (a double click: one run), not waiting for the night.
    runs = ReconciliationRun.objects.count()
    for _ in range(2):
        answer = admin.post("/console/reconciliation/run/", {"attempt": "a1" * 16}, follow=True).content.decode()
    assert "A check of every account is on its way" in answer and "No differences" in answer
    assert ReconciliationRun.objects.count() == runs + 1 and not ReconciliationDifference.objects.exists()
    assert (
        "out of date" in admin.post("/console/reconciliation/run/", {"attempt": "../x"}, follow=True).content.decode()
    )


def test_missing_on_either_side_is_found_and_a_fixed_difference_disappears(sandbox: Any) -> None:
    world = _world(sandbox)
    seller = world["usd"]
    account = str(seller.stripe_account_id)
    # A payout Stripe made whose events never reached us: at Stripe, not in the ledger.
    paid_order(sandbox, seller, 3_000, card=NOW)
    advance(sandbox, DAY)
    # A posting of a transfer Stripe never made: in the ledger, not at Stripe.
    ghost = ledger_post_one(
        posting=flows.transfer(transfer_id="tr_GHOST", seller=account, amount=700, currency="usd"),
        occurred_at=datetime.now(tz=UTC),
    )
    result = reconcile()
    kinds = {(d.key, d.stripe_account, d.kind) for d in ReconciliationDifference.objects.all()}
    late = Payout.objects.filter(account=account).count()
    assert ("tr_GHOST", "", DifferenceKind.MISSING_AT_STRIPE) in kinds
    assert ("tr_GHOST", account, DifferenceKind.MISSING_AT_STRIPE) in kinds
    assert any(k[2] == DifferenceKind.MISSING_IN_LEDGER and k[0].startswith("po_") for k in kinds), kinds
    assert result.run.differences == 3 and late == 1

    # Fixed: the late events arrive (the payout is posted), the ghost is reversed.
    process_connect(account, set())
    ledger_reverse(original=ghost, kind="correction", description="not a Stripe transfer", occurred_at=timezone.now())
    remaining = reconcile()
    assert remaining.run.differences == 0 and not ReconciliationDifference.objects.exists()


def test_one_account_and_since_limit_the_run(sandbox: Any) -> None:
    world = _world(sandbox)
    account = str(world["jpy"].stripe_account_id)
    result = reconcile(account=account)
    # the JPY seller: its payment, its payout and the payout's failure (its bank errored: no second payout)
    assert (result.run.accounts, result.run.stripe_transactions, result.run.differences) == (1, 3, 0)
    tomorrow = datetime.fromtimestamp(datetime.now(tz=UTC).timestamp() + 30 * DAY, tz=UTC)
    assert reconcile(since=tomorrow).run.stripe_transactions == 0
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("reconcile", "--since", "yesterday")
    with pytest.raises(CommandError, match="acct_"):
        call_command("reconcile", "--account", "nobody")


def test_query_count_does_not_grow_with_transactions(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    counts = []
    for n in (1, 6):
        while seller.orders.count() < n:
            paid_order(sandbox, seller, 1_000, card=NOW)
        with CaptureQueriesContext(connection) as queries:
            assert reconcile().run.differences == 0
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_stripe_unreachable_stops_the_run_with_exit_2_and_leaves_nothing_half_done(sandbox: Any, settings: Any) -> None:
    _world(sandbox)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES = f"http://127.0.0.1:{closed}", 0
    with pytest.raises(PaymentProviderError):
        reconcile()
    with pytest.raises(CommandError) as exc:
        call_command("reconcile")
    assert exc.value.returncode == 2
    assert not ReconciliationLine.objects.exists() and not ReconciliationDifference.objects.exists()
    settings.STRIPE_API_BASE = sandbox.url
    assert reconcile().run.differences == 0  # the next run, Stripe back


def test_a_refused_key_or_account_says_so_not_that_stripe_is_unreachable(sandbox: Any, settings: Any) -> None:
    """Stripe's 401 and 403 are answers: the run stops with exit 2 and says what to fix."""
    _world(sandbox)
    key, settings.STRIPE_SECRET_KEY = settings.STRIPE_SECRET_KEY, "sk_live_not_this_platforms"
    with pytest.raises(CommandError) as exc:
        call_command("reconcile")
    assert (exc.value.returncode, str(exc.value)) == (2, KEY_REFUSED)
    settings.STRIPE_SECRET_KEY = key
    with pytest.raises(CommandError) as exc:
        call_command("reconcile", "--account", "acct_NotConnectedToUs")
    assert (exc.value.returncode, str(exc.value)) == (2, ACCESS_REFUSED)
    assert not ReconciliationLine.objects.exists() and not ReconciliationDifference.objects.exists()
    assert reconcile().run.differences == 0


def test_the_page_says_which_accounts_and_days_each_run_checked() -> None:
    """A run of one account (`--account`) or from a day (`--since`) on top read "0 differences" as if
    the whole platform matched; one Stripe refused read only "did not finish"."""
    from payouts.models import ReconciliationRun

    now = timezone.now()
    ReconciliationRun.objects.create(started_at=now, finished_at=now, accounts=3, stripe_transactions=15)
    ReconciliationRun.objects.create(
        started_at=now, finished_at=now, account="acct_One", accounts=1, stripe_transactions=1, differences=1
    )
    since = datetime(2026, 11, 2, tzinfo=UTC)
    ReconciliationRun.objects.create(started_at=now, finished_at=now, since=since, accounts=1, stripe_transactions=2)
    ReconciliationRun.objects.create(started_at=now)
    page = signed_in(make_platform_admin()).get("/console/reconciliation/").content.decode()
    runs = page.split('data-testid="runs"')[1].split("</ul>")[0]
    assert "15 Stripe transactions of 3 accounts, <strong>0 differences</strong>" in runs
    assert "1 Stripe transaction of 1 account (only acct_One), <strong>1 difference</strong>" in runs
    assert "2 Stripe transactions of 1 account (the platform only, from 2 Nov 2026)" in runs
    assert "did not finish: Stripe refused or could not be reached, or it is still running" in runs


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_difference_on_one_shops_transfer_names_that_shops_order_not_the_last_of_the_payment(
    sandbox: Any, currency: str
) -> None:
    """One payment for two shops: a difference on the first shop's transfer is that shop's order's
    (it was shown against the payment's last order), and one on the shared charge names no single order."""
    kiln, tea = (active_seller(sandbox, currency=currency, shop=name) for name in ("Kiln & Co", "Tea House"))
    buyer = UserFactory()
    cart = cart_with(
        buyer, (listing_of(kiln, price=6_000, title="Mug"), 1), (listing_of(tea, price=2_500, title="Cup"), 1)
    )
    started = order_services.checkout_start_cart(buyer=buyer, cart=cart, currency=currency, **URLS)
    assert started.group is not None
    pay(sandbox, str(started.group.checkout_session_id), card=NOW)
    order_services.order_sync_from_stripe(order=started.orders[0])
    first, last = Order.objects.filter(checkout_group=started.group).order_by("pk")
    assert first.seller_id == kiln.pk and first.stripe_transfer_id and first.payment is not None
    charge = first.payment.stripe_charge_id
    for source in (first.stripe_transfer_id, charge):  # a stray cent on each, as a bad hand posting would leave
        ledger_post(
            source_id=source,
            kind="correction",
            description="a stray cent",
            occurred_at=timezone.now(),
            legs=[Leg(PLATFORM_BALANCE, -1, currency), Leg(BUYER_PAYMENTS, 1, currency)],
        )

    reconcile()
    on_transfer = ReconciliationDifference.objects.get(key=first.stripe_transfer_id, stripe_account="")
    assert on_transfer.order_id == first.pk != last.pk
    assert ReconciliationDifference.objects.get(key=charge, stripe_account="").order_id is None
