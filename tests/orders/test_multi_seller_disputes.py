"""A lost dispute on a payment for several shops is recovered from each seller in proportion to its
share of the disputed amount (largest remainder), each by its own reversal; what a seller's
available balance cannot cover is that seller's debt. Against the sandbox over HTTP, USD and JPY.

Worked example: the three shops of `test_multi_seller` (orders 10000, 3333, 1250; transfers 8970,
3166, 1250 in USD, 9000, 3166, 1250 in JPY) disputed for 5000 and lost: parts 3429, 1143, 428;
the sellers give back 3076, 1086, 428 (USD) or 3086, 1086, 428 (JPY); the platform bears the
fee's shares, Stripe's fee and the dispute fee."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from marketplace.ledger.reports import revenue_by_month
from marketplace.money import format_money
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_deliver
from orders.models import Order
from payments.models import Dispute, DisputeFile, RefundOrigin, SellerDebt
from payments.selectors import sellers_dispute_rates
from payments.services import refund_create, refund_submit
from payouts.models import Transfer, TransferReversal
from payouts.selectors import earnings_per_order, order_net
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import active_seller, listing_of, pay
from tests.orders.test_multi_seller import WORKED, settle, start_cart, three_shops
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process, stripe_balances
from tests.payments.test_disputes import control

pytestmark = pytest.mark.django_db

RECOVERED = {"usd": [3_076, 1_086, 428], "jpy": [3_086, 1_086, 428]}
# The console's dispute queue, the seller filter's shops among them, whatever the number of shops.
QUEUE_QUERIES = 7


def _lose_part_of_a_group_payment(sandbox: Any, currency: str, capture: Any, card: str) -> tuple[list[Any], Dispute]:
    amounts = WORKED[currency][0]
    shops = three_shops(sandbox, currency)
    items = [(listing_of(shop, price=amount), 1) for shop, amount in zip(shops, amounts, strict=True)]
    started = start_cart(UserFactory(), currency, *items)
    seen = {e["id"] for e in new_events(set())}
    pay(sandbox, str(started.group and started.group.checkout_session_id), card=card)
    settle(started.orders[0], capture)
    charge = Transfer.objects.filter(payment__isnull=False).first()
    assert charge is not None and charge.payment is not None
    opened = control(sandbox, f"charges/{charge.payment.stripe_charge_id}/dispute", reason="fraudulent", amount=5_000)
    control(sandbox, f"disputes/{opened['id']}/resolve", outcome="lost")
    with capture(execute=True):
        assert "failed" not in process(new_events(seen))
    return shops, Dispute.objects.get()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_lost_dispute_is_recovered_from_each_shop_by_its_own_reversal(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    shops, dispute = _lose_part_of_a_group_payment(
        sandbox,
        currency,
        django_capture_on_commit_callbacks,
        card="4000000000000077",  # funds available at once
    )
    assert (dispute.status, dispute.recovery) == ("lost", "recovered")
    assert dispute.recovered_amount == sum(RECOVERED[currency])
    transfers = [Transfer.objects.get(destination=shop.stripe_account_id) for shop in shops]
    reversed_ = [sum(r.amount for r in TransferReversal.objects.filter(transfer=t)) for t in transfers]
    assert reversed_ == RECOVERED[currency]
    for shop, transfer, back in zip(shops, transfers, reversed_, strict=True):
        left = transfer.amount - back
        assert stripe_balances(str(shop.stripe_account_id)) == ({currency: left} if left else {})
    assert not SellerDebt.objects.exists()
    assert_ledger_equals_stripe()
    # Each shop's row counts its own reversal, and keeps what its balance kept.
    assert [_disputed_and_net(shop, dispute) for shop in shops] == [
        (back, transfer.amount - back) for transfer, back in zip(transfers, reversed_, strict=True)
    ]
    # The admin reads what each shop gave back, not only their sum.
    page = _console_dispute_page(dispute)
    assert f"{format_money(sum(reversed_), currency)} taken back at once from 3 shops" in page
    for shop, back in zip(shops, reversed_, strict=True):
        assert f"<li>{escape(shop.shop_name)}: {format_money(back, currency)} taken back</li>" in page


def test_what_a_sellers_available_balance_cannot_cover_is_that_sellers_debt(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Paid with 4242, every seller's funds are still pending: a separate transfer cannot be reversed
    from pending funds, so each seller's share becomes its own debt, one per dispute and seller."""
    shops, dispute = _lose_part_of_a_group_payment(
        sandbox, "usd", django_capture_on_commit_callbacks, card="4242424242424242"
    )
    assert (dispute.recovery, dispute.recovered_amount) == ("debt", 0)
    debts = {d.seller_id: d.amount for d in SellerDebt.objects.filter(dispute=dispute)}
    assert debts == {shop.pk: owed for shop, owed in zip(shops, RECOVERED["usd"], strict=True)}
    assert not TransferReversal.objects.exists()
    assert_ledger_equals_stripe()
    # Each shop's row counts what it owes: its sale left it nothing more than its share's rest.
    transfers = [Transfer.objects.get(destination=shop.stripe_account_id) for shop in shops]
    assert [_disputed_and_net(shop, dispute) for shop in shops] == [
        (owed, transfer.amount - owed) for transfer, owed in zip(transfers, RECOVERED["usd"], strict=True)
    ]
    page = _console_dispute_page(dispute)
    for shop, owed in zip(shops, RECOVERED["usd"], strict=True):
        assert f"<li>{escape(shop.shop_name)}: $0.00 taken back, {format_money(owed, 'usd')} owed</li>" in page


def _console_dispute_page(dispute: Dispute) -> str:
    client = Client()
    client.force_login(make_platform_admin())
    return client.get(reverse("console_dispute_detail", args=[dispute.pk])).content.decode()


def _disputed_and_net(shop: Any, dispute: Dispute) -> tuple[int, int]:
    """The shop's row of its order of the disputed payment on its money page: disputed, net."""
    [row] = [o for o in earnings_per_order(seller_id=shop.pk) if o.payment_id == dispute.payment_id]
    return row.disputed, order_net(row)


def _pages_of(shop: Any, dispute: Dispute, queries: Any) -> tuple[Client, str]:
    client = Client()
    client.force_login(shop.user)
    with queries(8):
        listing = client.get(reverse("sell_disputes")).content.decode()
    assert listing.count('data-testid="seller-dispute-row"') == 1
    # Each shop's row names its own order of the payment, not the dispute's row id, and says the amount
    # beside it is the whole payment's: the shop that answers read "Order 8 ¥26,400" of its ¥2,400 order.
    own = Order.objects.get(payment=dispute.payment, seller=shop)
    detail = reverse("sell_dispute_detail", args=[dispute.pk])
    assert f'{detail}">Order {own.pk}: a payment for several shops<' in listing
    return client, client.get(reverse("sell_dispute_detail", args=[dispute.pk])).content.decode()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_every_shop_of_the_payment_sees_the_dispute_its_part_and_its_debt_and_only_the_first_answers(
    sandbox: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
    currency: str,
    settings: Any,
    tmp_path: Path,
) -> None:
    """A Dispute names the first shop, which writes the payment's side for the bank and alone
    downloads its proof; the other shops see it on their disputes page, read-only, with their own
    order, their part of the disputed amount and, once lost, their debt. A shop of another payment
    sees none of it."""
    amounts = WORKED[currency][0]
    shops = three_shops(sandbox, currency)
    started = start_cart(
        UserFactory(), currency, *((listing_of(s, price=a), 1) for s, a in zip(shops, amounts, strict=True))
    )
    seen = {e["id"] for e in new_events(set())}
    pay(sandbox, str(started.group and started.group.checkout_session_id))  # 4242: funds pending, so debts
    settle(started.orders[0], django_capture_on_commit_callbacks)
    other = active_seller(sandbox, currency=currency, shop="Ink Well")  # its own payment with shops[1]
    second = start_cart(UserFactory(), currency, *((listing_of(s, price=2_000), 1) for s in (shops[1], other)))
    pay(sandbox, str(second.group and second.group.checkout_session_id))
    settle(second.orders[0], django_capture_on_commit_callbacks)
    charge_id = Order.objects.select_related("payment").get(pk=started.orders[0].pk).payment.stripe_charge_id  # type: ignore[union-attr]
    opened = control(sandbox, f"charges/{charge_id}/dispute", reason="fraudulent", amount=5_000)
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    dispute = Dispute.objects.get()

    parts = [3_429, 1_143, 428]
    # Every shop is told, of its own order and part: the first answers, the others follow (their part at
    # stake). The first shop's email named the whole disputed amount as its order's ("order 6: $104.00"
    # for a $72.00 order), where the other shops read their part.
    for index, (shop, part) in enumerate(zip(shops, parts, strict=True)):
        order = Order.objects.get(payment=dispute.payment, seller=shop)
        [opened_email] = [m for m in mail.outbox if m.to == [shop.user.email] and "bank disputes" in m.subject]
        assert opened_email.subject.endswith(f"a payment with your order {order.pk}: {format_money(part, currency)}")
        assert f"Your part of the disputed amount: {format_money(part, currency)}." in opened_email.body
        if index:
            assert f"{shops[0].shop_name} answers the dispute for the whole payment" in opened_email.body
        else:
            whole = format_money(5_000, currency)
            assert f"You answer the dispute for the whole payment ({whole})" in opened_email.body
            assert "upload your proof" in opened_email.body
    for index, (shop, part) in enumerate(zip(shops, parts, strict=True)):
        client, page = _pages_of(shop, dispute, django_assert_max_num_queries)
        order = Order.objects.get(payment=dispute.payment, seller=shop)
        assert f"{format_money(part, currency)} of your order {order.pk}" in page
        assert reverse("sell_order_detail", args=[order.pk]) in page  # its own order, never another's
        assert ('data-testid="statement-form"' in page) is (index == 0)
        response = client.post(reverse("sell_dispute_statement", args=[dispute.pk]), {"statement": f"shop {index}"})
        assert response.status_code == 302
        if index:  # nor through the API: its statement and its files are the answering shop's alone
            api = f"/api/v1/seller/disputes/{dispute.pk}"
            put = client.put(f"{api}/statement", {"statement": f"api {index}"}, content_type="application/json")
            assert (put.status_code, put.json()["error"]["code"]) == (403, "dispute_answered_by_another_shop")
            assert shops[0].shop_name in put.json()["error"]["message"]
            label = SimpleUploadedFile("label.pdf", b"%PDF-1.4 label", content_type="application/pdf")
            assert client.post(f"{api}/files", {"file": label}).status_code == 403
    dispute.refresh_from_db()
    assert dispute.seller_statement == "shop 0"
    assert not DisputeFile.objects.exists()

    # Its proof: the first shop downloads it; the other shops see its name, and nothing to fetch.
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    first = Client()
    first.force_login(shops[0].user)
    proof = SimpleUploadedFile("label.pdf", b"%PDF-1.4 label", content_type="application/pdf")
    assert first.post(reverse("sell_dispute_file", args=[dispute.pk]), {"file": proof}).status_code == 302
    download = reverse("sell_dispute_file_download", args=[dispute.pk, DisputeFile.objects.get().pk])
    assert first.get(download).status_code == 200
    for shop in shops[1:]:
        client = Client()
        client.force_login(shop.user)
        assert client.get(download).status_code == 404
        page = client.get(reverse("sell_dispute_detail", args=[dispute.pk])).content.decode()
        assert "label.pdf" in page and download not in page

    client = Client()
    client.force_login(other.user)
    assert 'data-testid="seller-dispute-row"' not in client.get(reverse("sell_disputes")).content.decode()
    assert client.get(reverse("sell_dispute_detail", args=[dispute.pk])).status_code == 404
    assert client.post(reverse("sell_dispute_statement", args=[dispute.pk]), {"statement": "x"}).status_code == 404

    control(sandbox, f"disputes/{opened['id']}/resolve", outcome="lost")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    for shop, owed, part in zip(shops, RECOVERED[currency], parts, strict=True):
        _, page = _pages_of(shop, dispute, django_assert_max_num_queries)
        assert f"<strong>You owe the platform:</strong> {format_money(owed, currency)}" in page
        order = Order.objects.get(payment=dispute.payment, seller=shop)
        [closed_email] = [m for m in mail.outbox if m.to == [shop.user.email] and "Dispute lost" in m.subject]
        assert closed_email.subject.endswith(f"Dispute lost: {format_money(part, currency)}, order {order.pk}")
        assert f"{format_money(part, currency)} goes back to them for order {order.pk}." in closed_email.body
        # Its balance (funds pending) gave nothing back: the email no longer says only that it was taken.
        assert "what your balance cannot cover is collected from your next funds" in closed_email.body
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_recovery_that_died_after_its_first_reversal_reverses_no_shop_twice_when_run_again(
    sandbox: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch, currency: str
) -> None:
    """The first run makes the first shop's reversal at Stripe, then dies before its commit (nothing
    of it is kept here, the outbox retries it later); the retry finds that reversal by the dispute in
    its metadata and records it instead of asking for another, whose amount (read from the lowered
    balance) could differ."""
    from payments import group_recovery

    recorded, available = group_recovery.transfer_reversal_from_stripe, group_recovery._available
    seen_reversals: list[str] = []
    first_account: list[str] = []

    def dies_once(**kwargs: Any) -> Any:
        seen_reversals.append(kwargs["reversal"].id)
        if len(seen_reversals) == 1:
            first_account.append(kwargs["destination"])
            raise OSError("the worker died")
        return recorded(**kwargs)

    def lowered(*, stripe_account: str, currency: str) -> int:
        """As if a payout took most of the first shop's balance before the retry: the share it would
        compute then (and its idempotency key) differs from the first run's."""
        real = available(stripe_account=stripe_account, currency=currency)
        return min(real, 100) if first_account[:1] == [stripe_account] else real

    monkeypatch.setattr(group_recovery, "transfer_reversal_from_stripe", dies_once)
    shops, _ = _lose_part_of_a_group_payment(
        sandbox, currency, django_capture_on_commit_callbacks, card="4000000000000077"
    )
    recovery = OutboxMessage.objects.get(name="payments.dispute_recover")
    assert (recovery.status, recovery.attempts, Dispute.objects.get().recovery) == ("pending", 1, "")
    OutboxMessage.objects.filter(pk=recovery.pk).update(next_attempt_at=timezone.now())  # its retry is due
    monkeypatch.setattr(group_recovery, "_available", lowered)
    assert outbox_deliver(message_id=recovery.pk) == "delivered"

    assert seen_reversals[0] == seen_reversals[1]  # the retry recorded the reversal the first run made
    dispute = Dispute.objects.get()
    assert (dispute.recovery, dispute.recovered_amount) == ("recovered", sum(RECOVERED[currency]))
    for shop, back in zip(shops, RECOVERED[currency], strict=True):
        transfer = Transfer.objects.get(destination=shop.stripe_account_id)
        assert [r.amount for r in TransferReversal.objects.filter(transfer=transfer)] == [back]
        assert stripe_balances(str(shop.stripe_account_id)) == {currency: transfer.amount - back}  # once at Stripe
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_revenue_of_a_lost_dispute_recovered_from_each_shop_equals_the_platforms_balance(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """Each shop's reversal gives its fee share back (booked as a fee refund) and recovers its part
    of the loss: the report counted the fee shares twice (as fees refunded and as loss not
    recovered), so net revenue was below the platform's balance by their sum."""
    _lose_part_of_a_group_payment(sandbox, currency, django_capture_on_commit_callbacks, card="4000000000000077")
    assert_ledger_equals_stripe()
    months = list(revenue_by_month(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(9000, 1, 1, tzinfo=UTC)))
    ours = [m for m in months if m.currency == currency]
    assert sum(m.refunds_paid_by_platform for m in ours) == 0
    # Recovered in full, as a destination charge's lost dispute reads: the shops' reversals and the
    # fee shares given up with them make the 5000 lost; the fee shares are the fees refunded.
    assert sum(m.dispute_losses for m in ours) == sum(m.dispute_recoveries for m in ours) == 5_000
    assert sum(m.fees_refunded for m in ours) == 5_000 - sum(RECOVERED[currency])
    assert sum(m.net_revenue for m in ours) == stripe_balances()[currency]


def _dispute_after_the_first_order_was_refunded(
    sandbox: Any, capture: Any, currency: str
) -> tuple[list[Any], list[Order], Dispute, dict[str, Any], set[str]]:
    """The three shops' payment, the first shop's order refunded in full by the platform, then the
    rest of the charge disputed: what the bank disputes is none of the first shop's."""
    shops = three_shops(sandbox, currency)
    amounts = WORKED[currency][0]
    started = start_cart(
        UserFactory(), currency, *((listing_of(s, price=a), 1) for s, a in zip(shops, amounts, strict=True))
    )
    seen = {e["id"] for e in new_events(set())}
    pay(sandbox, str(started.group and started.group.checkout_session_id))
    settle(started.orders[0], capture)
    orders = list(Order.objects.filter(checkout_group=started.group).order_by("pk"))
    assert orders[0].payment is not None
    with capture(execute=True):
        row = refund_create(
            payment=orders[0].payment,
            amount=amounts[0],
            origin=RefundOrigin.ADMIN,
            order_id=orders[0].pk,
            reverse_transfer=False,
        )
    assert refund_submit(refund_id=row.pk).status == "succeeded"
    opened = control(sandbox, f"charges/{orders[0].payment.stripe_charge_id}/dispute", reason="fraudulent")
    assert opened["amount"] == amounts[1] + amounts[2]
    with capture(execute=True):
        assert "failed" not in process(new_events(seen))
    return shops, orders, Dispute.objects.get(), opened, seen


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_dispute_after_the_first_shops_order_was_refunded_in_full_is_answered_by_a_shop_at_stake(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """The dispute named the first order all the same: its shop answered for money it no longer had
    at stake, the console's evidence described its refunded items to the bank, and the shop that
    stood to lose (and then owed) its part could not write its side. It names the order holding the
    largest part of what the charge still holds."""
    shops, orders, dispute, opened, seen = _dispute_after_the_first_order_was_refunded(
        sandbox, django_capture_on_commit_callbacks, currency
    )
    assert (dispute.order_id, dispute.seller_id) == (orders[1].pk, shops[1].pk)

    page = _console_dispute_page(dispute)
    seller_page = reverse("console_seller_detail", args=[shops[1].pk])
    assert f'<strong>Seller:</strong> <a href="{seller_page}">{escape(shops[1].shop_name)}</a>' in page
    [line] = orders[1].lines.all()
    assert escape(f"1 x {line.title}") in page
    statement = {"statement": "Shipped with tracking."}
    for shop, answers in ((shops[1], True), (shops[0], False)):
        client = Client()
        client.force_login(shop.user)
        put = client.put(f"/api/v1/seller/disputes/{dispute.pk}/statement", statement, content_type="application/json")
        assert (put.status_code == 200) is answers

    control(sandbox, f"disputes/{opened['id']}/resolve", outcome="lost")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    assert {d.seller_id for d in SellerDebt.objects.filter(dispute=dispute)} == {shops[1].pk, shops[2].pk}
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_shop_whose_order_was_refunded_in_full_before_the_dispute_is_not_counted_in_its_dispute_rate(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """Its part of the disputed amount is nothing (the console's seller page reads "$0.00 of order
    N"), yet the dispute counted in its rate, and a shop with few sales was flagged "High dispute
    rate" on the sellers list for a payment whose rest, another shop's, the bank disputed."""
    shops, _orders, dispute, opened, seen = _dispute_after_the_first_order_was_refunded(
        sandbox, django_capture_on_commit_callbacks, currency
    )
    rates = sellers_dispute_rates(seller_ids=[shop.pk for shop in shops])
    assert [(rates[shop.pk].disputes, rates[shop.pk].payments) for shop in shops] == [(0, 1), (1, 1), (1, 1)]
    assert not rates[shops[0].pk].flagged
    control(sandbox, f"disputes/{opened['id']}/resolve", outcome="lost")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    assert not SellerDebt.objects.filter(dispute=dispute, seller=shops[0]).exists()
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_shop_whose_order_was_refunded_in_full_before_the_dispute_is_not_emailed_about_it(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """It read "A buyer's bank disputes a payment with your order 7: $0.00" and, once lost, "Dispute
    lost: $0.00 ... The platform recovers your share of the sale from your balance": nothing of its
    sale was disputed, nothing was taken. The shops at stake are told, each of its own part."""
    shops, orders, _dispute, opened, seen = _dispute_after_the_first_order_was_refunded(
        sandbox, django_capture_on_commit_callbacks, currency
    )
    control(sandbox, f"disputes/{opened['id']}/resolve", outcome="lost")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    with django_capture_on_commit_callbacks(execute=True):
        for message in OutboxMessage.objects.all():
            outbox_deliver(message_id=message.pk)
    subjects = {shop.pk: [m.subject for m in mail.outbox if m.to == [shop.user.email]] for shop in shops}
    assert not [s for s in subjects[shops[0].pk] if "isput" in s]
    for shop, order in zip(shops[1:], orders[1:], strict=True):
        assert [s for s in subjects[shop.pk] if "bank disputes" in s]
        assert [s for s in subjects[shop.pk] if f"Dispute lost: {format_money(order.amount_total, currency)}" in s]
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_console_queue_filters_by_every_shop_of_the_disputed_payment_in_a_fixed_number_of_queries(
    sandbox: Any, django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any, currency: str
) -> None:
    """Each shop of the payment is a choice of the queue's seller filter, and choosing it shows the
    dispute (its console page lists it too); the page's queries do not grow with the shops."""
    shops, _orders, dispute, _opened, _seen = _dispute_after_the_first_order_was_refunded(
        sandbox, django_capture_on_commit_callbacks, currency
    )
    client = Client()
    client.force_login(make_platform_admin())
    for shop in shops:
        with django_assert_num_queries(QUEUE_QUERIES):
            page = client.get(reverse("console_disputes"), {"seller": shop.pk}).content.decode()
        assert f'<option value="{shop.pk}" selected>{escape(shop.shop_name)}</option>' in page
        assert page.count('data-testid="dispute-row"') == 1
        assert reverse("console_dispute_detail", args=[dispute.pk]) in page
    assert_ledger_equals_stripe()
