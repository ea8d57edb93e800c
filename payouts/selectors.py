"""Reads of the seller's side of money: balance, payouts and what each contains, the schedule,
earnings per order and per week, the statement, and the failed-payout banner.

Balance and schedule come from Stripe (with the seller's `Stripe-Account`) and are cached briefly:
a page view must not cost a Stripe call each time, and when Stripe cannot be reached the last
figure read is shown with its time and a sentence instead of an error page. Everything else is
read from our own rows and the ledger, in a fixed number of queries whatever the number of orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from marketplace.cache import cache_is_shared, shared_get
from marketplace.errors import NotFound, PaymentProviderError
from marketplace.gateway import accounts as gateway_accounts
from marketplace.gateway import balances as gateway_balances
from marketplace.gateway.types import BalanceAmount, BalanceTransaction, PayoutSchedule
from marketplace.ledger.chart import AccountCode, stripe_balance
from marketplace.ledger.flows import PostingKind
from marketplace.ledger.selectors import (
    StatementLine,
    StatementRow,
    ledger_sources_posted_to,
    ledger_statement_rows,
    ledger_totals_by_period,
    statement_line,
)
from marketplace.money import format_money
from orders.models import Order
from payments.models import OPEN_REFUND_STATUSES, Dispute, Refund, RefundStatus, SellerDebt
from payouts.failures import failure_reason_and_way_out
from payouts.models import (
    ApplicationFee,
    ApplicationFeeRefund,
    AvailableBalance,
    BankAccount,
    Payout,
    PayoutStatus,
    Transfer,
    TransferReversal,
)
from sellers.models import Seller
from sellers.selectors import SellerOverview, seller_overview
from subscriptions.models import SubscriptionInvoice

_Row = TypeVar("_Row", Order, SubscriptionInvoice)
BALANCE_FRESH_SECONDS = 30  # "cached briefly": a seller reloading the page does not call Stripe each time
LAST_KNOWN_SECONDS = 30 * 86400  # the figure shown, with its time, while Stripe cannot be reached
SCHEDULE_FRESH_SECONDS = 300
STALE_SENTENCE = (
    "Stripe cannot be reached right now, so this is the last balance we read, at {when}. "
    "It will update by itself once Stripe answers again."
)
NEVER_READ_SENTENCE = "Stripe cannot be reached right now, and we have not read your balance before. Try again soon."
# Stripe down and Redis too: the last read is in Redis, out of reach, which is not "never read".
UNFETCHED_SENTENCE = (
    "Stripe cannot be reached right now, and the last balance we read cannot be fetched now either. Try again soon."
)


PAYOUT_KINDS = (PostingKind.PAYOUT, PostingKind.PAYOUT_FAILURE, PostingKind.PAYOUT_CANCEL)


# --- Balance ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Amount:
    amount: int
    currency: str


@dataclass(frozen=True)
class BalanceView:
    """The seller's Stripe balance as last read; `stale` with a `sentence` when Stripe could not
    be reached now (and `as_of` None when it never could)."""

    available: list[Amount] = field(default_factory=list)
    pending: list[Amount] = field(default_factory=list)
    as_of: datetime | None = None
    stale: bool = False
    sentence: str = ""


def seller_balance(*, account: str) -> BalanceView:
    """The balance available and pending per currency, read with the seller's `Stripe-Account`
    at most every `BALANCE_FRESH_SECONDS` (on every view while Redis is down, `shared_get`); never
    raises for Stripe being down. Each read from Stripe also replaces the account's `AvailableBalance`
    rows, the console's figures of the sellers who owe."""
    fresh_key, last_key = f"payouts:balance:{account}", f"payouts:balance-last:{account}"
    cached = shared_get(fresh_key)
    if cached is not None:
        return _balance_view(cached)
    try:
        balance = gateway_balances.balance_retrieve(account=account)
    except PaymentProviderError:
        last = cache.get(last_key)  # this process's own last read, with its time, is still true
        if last is None:
            sentence = NEVER_READ_SENTENCE if cache_is_shared() else UNFETCHED_SENTENCE
            return BalanceView(stale=True, sentence=sentence)
        view = _balance_view(last)
        when = timezone.localtime(view.as_of).strftime("%d %b %Y, %H:%M %Z") if view.as_of else "an earlier time"
        return BalanceView(view.available, view.pending, view.as_of, True, STALE_SENTENCE.format(when=when))
    now = timezone.now()
    stored = {
        "available": [(part.amount, part.currency) for part in balance.available],
        "pending": [(part.amount, part.currency) for part in balance.pending],
        "as_of": now.timestamp(),
    }
    cache.set(fresh_key, stored, BALANCE_FRESH_SECONDS)
    cache.set(last_key, stored, LAST_KNOWN_SECONDS)
    _available_balances_store(account=account, available=balance.available, read_at=now)
    return _balance_view(stored)


def _available_balances_store(*, account: str, available: Iterable[BalanceAmount], read_at: datetime) -> None:
    """Stripe's read of the available balance replaces the account's `AvailableBalance` rows (what the
    console lists the sellers who owe from): one row per currency Stripe lists, none for a currency
    it no longer does. Two statements, whatever moved since: Stripe's figure is the truth."""
    parts = {part.currency: part.amount for part in available}
    with transaction.atomic():
        AvailableBalance.objects.filter(account=account).exclude(currency__in=list(parts)).delete()
        AvailableBalance.objects.bulk_create(
            [AvailableBalance(account=account, currency=c, amount=a, read_at=read_at) for c, a in parts.items()],
            update_conflicts=True,
            unique_fields=["account", "currency"],
            update_fields=["amount", "read_at"],
        )


def negative_balance_sentences(*, balance: BalanceView) -> list[str]:
    """A sentence for each currency whose available balance Stripe shows below zero: why, and what
    happens next. Money taken back from the seller (a refund's transfer reversal, a lost dispute's
    recovery or its debt collected) is taken from the available balance, whether the sale's own funds
    are still pending or were paid out, so the available balance goes negative while pending stays
    positive (the demo's sentence once said "after the funds had been paid out" above "No payouts yet").
    Stripe then nets the pending funds against it as they become available, and sends no payout
    while the balance is negative (connect-behaviour.md, "Negative balances"); without these words the
    seller read "-$45.00" and nothing else."""
    pending = {part.currency: part.amount for part in balance.pending}
    sentences = []
    for part in balance.available:
        if part.amount >= 0:
            continue
        owed, held = -part.amount, max(pending.get(part.currency, 0), 0)
        why = (
            f"Your available balance in {part.currency.upper()} is {format_money(part.amount, part.currency)}: "
            "money taken back for a refund or a lost dispute was more than your available funds, your sales' money "
            "being still pending or already paid out to your bank."
        )
        if held >= owed:
            next_ = (
                f"Stripe covers it from your pending {format_money(held, part.currency)} as it becomes available, "
                f"which leaves you {format_money(held - owed, part.currency)}."
            )
        elif held > 0:
            next_ = (
                f"Stripe covers {format_money(held, part.currency)} of it from your pending funds as they become "
                f"available, and the other {format_money(owed - held, part.currency)} from your next sales."
            )
        else:
            next_ = "Stripe covers it from your next sales."
        sentences.append(f"{why} {next_} Nothing is paid out to your bank until then.")
    return sentences


def balance_reread(*, account: str) -> None:
    """The balance changed in a way we do not mirror (a payout the seller asked for, funds that
    became available): read it from Stripe now, so the seller's next page shows it and the
    console's "Sellers with a negative balance" (`negative_balances`) lists the balance after the
    change, whether or not the seller looks. One Stripe call per change, never per page; never
    raises for Stripe being down (the next change or page view reads it again)."""
    balance_fresh_forget(account=account)
    seller_balance(account=account)


def balance_fresh_forget(*, account: str) -> None:
    """The seller's next Money page reads Stripe, not the balance cached a moment ago (a refund made
    from the order page, then the Money page within 30 s, showed the refunded sale's money still
    available beside its refund)."""
    cache.delete(f"payouts:balance:{account}")


def seller_balances_reread() -> int:
    """Every seller's balance read from Stripe again (`balance_reread`), a beat job's: a seller
    never read since the table was made, or a change Stripe made that we hear nothing of (its fees,
    an adjustment; `balance.available` is not sent for negative moves) would otherwise be missing
    from the console's negative balances. One Stripe call per seller per run, on a worker, never
    on a page. Returns how many were read."""
    accounts = Seller.objects.exclude(stripe_account_id=None).values_list("stripe_account_id", flat=True)
    n = 0
    for account in accounts.iterator():
        balance_reread(account=str(account))
        n += 1
    return n


def negative_balances() -> QuerySet[AvailableBalance]:
    """The sellers' available balances below zero (`AvailableBalance`), per currency, most negative
    first, each with `seller_id` and `shop_name`: the very figure the seller's Money page last read,
    moved by the reversals mirrored since. Read from the partial index of the negative ones only, so
    a page of it, and its count, cost one query each whatever the number of sellers."""
    seller = Seller.objects.filter(stripe_account_id=OuterRef("account"))
    return (
        AvailableBalance.objects.filter(amount__lt=0)
        .annotate(seller_id=Subquery(seller.values("id")[:1]), shop_name=Subquery(seller.values("shop_name")[:1]))
        .exclude(seller_id=None)
        .order_by("currency", "amount", "shop_name", "id")
    )


def _balance_view(stored: dict[str, object]) -> BalanceView:
    def parts(key: str) -> list[Amount]:
        rows = stored.get(key) or []
        assert isinstance(rows, list)
        return sorted((Amount(int(a), str(c)) for a, c in rows), key=lambda x: x.currency)

    as_of = stored.get("as_of")
    when = datetime.fromtimestamp(float(as_of), tz=UTC) if isinstance(as_of, int | float) else None
    return BalanceView(parts("available"), parts("pending"), when)


# --- Schedule -----------------------------------------------------------------------------------


def seller_payout_schedule(*, account: str) -> PayoutSchedule | None:
    """The payout schedule Stripe has for the account (cached); None when Stripe cannot say now."""
    key = f"payouts:schedule:{account}"
    cached = shared_get(key)
    if cached is not None:
        return PayoutSchedule.model_validate(cached)
    try:
        schedule = gateway_accounts.account_retrieve(account).payout_schedule
    except PaymentProviderError:
        return None
    if schedule is not None:
        cache.set(key, schedule.model_dump(), SCHEDULE_FRESH_SECONDS)
    return schedule


def schedule_remember(*, account: str, schedule: PayoutSchedule) -> None:
    """What Stripe answered to a change is the schedule now: the page shows it at once."""
    cache.set(f"payouts:schedule:{account}", schedule.model_dump(), SCHEDULE_FRESH_SECONDS)


def schedule_sentence(schedule: PayoutSchedule | None) -> str:
    if schedule is None:
        return "Your payout schedule cannot be read from Stripe right now."
    if schedule.interval == "daily":
        return "Stripe pays your available balance out every day."
    if schedule.interval == "weekly":
        return f"Stripe pays your available balance out every {str(schedule.weekly_anchor or 'monday').title()}."
    if schedule.interval == "monthly":
        day = schedule.monthly_anchor or 1
        suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        last = " (or the month's last day when it is shorter)" if day > 28 else ""
        return f"Stripe pays your available balance out on the {day}{suffix} of each month{last}."
    return "Payouts are manual: Stripe keeps your balance until you press Pay out now."


# --- Payouts ------------------------------------------------------------------------------------


def payouts_for_account(*, account: str) -> QuerySet[Payout]:
    """The account's payouts, newest first."""
    return Payout.objects.filter(account=account).order_by("-created_at", "-id")


def payout_for_account(*, account: str, payout_id: int) -> Payout | None:
    return Payout.objects.filter(account=account, pk=payout_id).first()


def payout_failure_unresolved(*, account: str) -> Payout | None:
    """The latest failed payout with no paid payout created after it: what the seller's banner is
    about. One query; None once a later payout was paid."""
    paid_later = Payout.objects.filter(account=account, status=PayoutStatus.PAID, created_at__gt=OuterRef("created_at"))
    return (
        Payout.objects.filter(account=account, status=PayoutStatus.FAILED)
        .exclude(Exists(paid_later))
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class PayoutFailureBanner:
    """What the seller's banner says about its last failed payout: why and the way out while its
    bank account is errored (Stripe sends no payout until it is updated); once the details were
    updated, that the money goes out with the next payout. Gone when a later payout is paid."""

    payout: Payout
    sentence: str  # after "Your payout of ... failed:"
    bank_updated: bool


def payout_failure_banner(*, account: str) -> PayoutFailureBanner | None:
    """One query when nothing failed (the seller home's usual case), two when something did, three
    once the bank details were updated (a later payout on its way)."""
    failed = payout_failure_unresolved(account=account)
    if failed is None:
        return None
    banks = list(BankAccount.objects.filter(account=account).values_list("status", flat=True))
    bank_updated = bool(banks) and "errored" not in banks
    bank = "updated" if bank_updated else "errored" if banks else ""
    on_its_way = ""
    if bank_updated:
        sent = (
            Payout.objects.filter(
                account=account,
                status__in=(PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT),
                created_at__gt=failed.created_at,
            )
            .order_by("-created_at", "-id")
            .first()
        )
        on_its_way = format_money(sent.amount, sent.currency) if sent else ""
    return PayoutFailureBanner(
        payout=failed,
        sentence=failure_reason_and_way_out(failed.failure_code, bank=bank, on_its_way=on_its_way),
        bank_updated=bank_updated,
    )


def seller_home_overview(*, seller: Seller) -> tuple[SellerOverview, PayoutFailureBanner | None]:
    """The seller's status as its home page and `GET /api/v1/seller/` both say it, with the banner of
    its last failed payout: a bank account still errored by that failure changes the status sentence
    (Stripe sends no payout until it is updated, `sellers.status.status_message`). One place, so the
    API cannot answer "can receive payouts" under the page's banner (it did)."""
    banner = payout_failure_banner(account=seller.stripe_account_id) if seller.stripe_account_id else None
    return seller_overview(seller=seller, bank_errored=bool(banner and not banner.bank_updated)), banner


LINE_LABELS = {
    "payment": "Sale",
    "payment_refund": "Refund",
    "transfer": "Transfer from the marketplace",
    "transfer_refund": "Transfer reversed",
    "payout_failure": "Returned payout",
    "payout_cancel": "Canceled payout",
    "adjustment": "Adjustment",
    "application_fee_refund": "Marketplace fee refunded",
}
# A lost dispute's recovery, or the collection of the debt it left, is a reversal of the seller's
# payment as a refund's is (Stripe's `payment_refund`): named for what it was, not "Refund" of an order
# whose page says no refund can be made.
DISPUTE_RECOVERY_LABEL = "Taken back for a lost dispute"


@dataclass(frozen=True)
class PayoutLine:
    """One balance transaction a payout paid out, with our order when we know it."""

    stripe_id: str
    type: str
    label: str
    amount: int
    fee: int
    net: int
    currency: str
    source: str
    order_id: int | None


@dataclass(frozen=True)
class PayoutContents:
    lines: list[PayoutLine]
    sentence: str = ""  # why there are no lines (manual payout, Stripe still reconciling, Stripe down)


def payout_contents(*, payout: Payout, seller_id: int) -> PayoutContents:
    """What the payout paid out (Stripe's balance transactions of the payout, read with the
    seller's `Stripe-Account`), each sale tied to our order, or named by its subscription when it
    is a subscription's invoice (no order); a refund taken back (its transfer reversal) and a fee
    given back (its application fee refund) are tied to the same order, and a lost dispute's recovery is
    named so rather than "Refund"; a shop's sale in a payment for several shops shows its order's sale and
    fee (Stripe lists the transfer of the net, with no fee): six queries, whatever the count. A failed or
    canceled payout never arrives, so it is never listed: its money went back to the balance."""
    if payout.status in (PayoutStatus.FAILED, PayoutStatus.CANCELED):
        amount = format_money(payout.amount, payout.currency)
        return PayoutContents(
            [], f"This payout did not reach your bank: its {amount} went back to your Stripe balance."
        )
    if not payout.automatic:
        return PayoutContents([], "You asked for this payout yourself: Stripe does not list what it contains.")
    if payout.reconciliation_status != "completed":
        return PayoutContents(
            [], "Stripe lists what a payout contains once it has arrived; look again after its arrival date."
        )
    try:
        txns: list[BalanceTransaction] = list(
            gateway_balances.balance_transactions_list(
                account=payout.account, payout=payout.stripe_id, expand_source=True
            )
        )
    except PaymentProviderError:
        return PayoutContents([], "Stripe cannot be reached right now; what this payout contains will show here.")
    transfers = {t.source_transfer for t in txns if t.source_transfer}
    payment_of = dict(Transfer.objects.filter(stripe_id__in=transfers).values_list("stripe_id", "payment_id"))
    # A `pyr_` names the transfer reversal it came from, an `application_fee_refund` line's source is
    # the fee refund: both of one payment, as the sale they take from.
    reversals = {t.source_transfer_reversal for t in txns if t.source_transfer_reversal}
    payment_of.update(
        TransferReversal.objects.filter(stripe_id__in=reversals).values_list("stripe_id", "transfer__payment_id")
    )
    # The ledger booked each recovery against the seller's dispute losses (`flows.transfer_reversal`).
    recoveries = ledger_sources_posted_to(
        source_ids=reversals, kind=PostingKind.TRANSFER_REVERSAL, code=AccountCode.SELLER_DISPUTE_LOSSES
    )
    fee_refunds = {t.source for t in txns if t.type == "application_fee_refund" and t.source}
    payment_of.update(
        ApplicationFeeRefund.objects.filter(stripe_id__in=fee_refunds).values_list("stripe_id", "fee__payment_id")
    )
    payment_ids = [p for p in payment_of.values() if p]
    orders = Order.objects.filter(seller_id=seller_id, payment_id__in=payment_ids).values_list(
        "payment_id", "id", "amount_total", "application_fee_amount"
    )
    order_of = {payment_id: order_id for payment_id, order_id, _, _ in orders}
    sale_of = {payment_id: (total, fee) for payment_id, _, total, fee in orders}
    subscription_of = dict(
        SubscriptionInvoice.objects.filter(subscription__seller_id=seller_id, payment_id__in=payment_ids).values_list(
            "payment_id", "subscription__title"
        )
    )

    def payment(t: BalanceTransaction) -> int:
        key = (
            t.source_transfer or t.source_transfer_reversal or (t.source if t.type == "application_fee_refund" else "")
        )
        return payment_of.get(key or "") or 0

    def label(t: BalanceTransaction) -> str:
        title = subscription_of.get(payment(t))
        if t.type == "payment" and title:
            return f"Subscription: {title}"
        if t.source_transfer_reversal in recoveries:
            return DISPUTE_RECOVERY_LABEL
        return LINE_LABELS.get(t.type, t.type.replace("_", " ").capitalize())

    def line(t: BalanceTransaction) -> PayoutLine:
        amount, fee = t.amount, t.fee
        # A shop's order in a payment for several shops reaches it as a transfer of the sale less our fee,
        # which Stripe lists with no fee ("70.80, fee 0.00" for a 79.00 sale): shown as the order's sale and
        # fee, as its page has them, the net the same.
        order_total, order_fee = sale_of.get(payment(t), (0, 0))
        if t.type == "payment" and fee == 0 and order_fee > 0 and amount == order_total - order_fee:
            amount, fee = order_total, order_fee
        return PayoutLine(
            stripe_id=t.id,
            type=t.type,
            label=label(t),
            amount=amount,
            fee=fee,
            net=t.net,
            currency=t.currency,
            source=t.source or "",
            order_id=order_of.get(payment(t)),
        )

    return PayoutContents([line(t) for t in txns])


# --- What refunds took from the seller -------------------------------------------------------------


def refund_share_taken() -> Any:
    """Correlated on a refund: what it took back from the seller's balance, as Stripe did it: its own
    transfer reversal (the mirrored row, Stripe's figure) and what it reused of a failed refund's kept
    reversal (`Refund.share_reused`); 0 for one the platform paid."""
    reversal = TransferReversal.objects.filter(stripe_id=OuterRef("stripe_transfer_reversal_id")).values("amount")
    return Coalesce(Subquery(reversal[:1], output_field=IntegerField()), Value(0)) + Coalesce(
        F("share_reused"), Value(0)
    )


def refund_share_taken_beyond() -> Any:
    """Correlated on a refund: what it took back from the seller beyond its own amount. Stripe reverses
    the whole transfer, and refunds the whole fee, when a refund leaves nothing of a destination charge
    ("If the refund results in the entire charge being refunded, the entire transfer is reversed",
    connect-behaviour.md §a): after refunds the platform paid, which left the seller its share of them,
    the refund of everything left takes those shares back too. 0 for any other refund (a reversal in
    proportion never exceeds its refund; a refund of a shop's order reverses only its own share)."""
    return Greatest(refund_share_taken() - F("amount"), Value(0))


def refunds_with_shares(refunds: QuerySet[Refund]) -> QuerySet[Refund]:
    """`refunds` annotated with `share_taken` (`refund_share_taken`), `share_taken_beyond`
    (`refund_share_taken_beyond`) and, for one the platform paid, `share_taken_later`: whether a later
    refund of its payment took its share back after all (Stripe, refunding everything left), so a page
    that calls it "paid by the platform" says that too. One query."""
    later = (
        Refund.objects.filter(
            payment_id=OuterRef("payment_id"),
            pk__gt=OuterRef("pk"),
            status=RefundStatus.SUCCEEDED,
            reverse_transfer=True,
        )
        .annotate(beyond=refund_share_taken_beyond())
        .filter(beyond__gt=0)
    )
    return refunds.annotate(
        share_taken=refund_share_taken(),
        share_taken_beyond=refund_share_taken_beyond(),
        share_taken_later=Exists(later),
    )


# --- Earnings -----------------------------------------------------------------------------------


def earnings_per_order(*, seller_id: int) -> QuerySet[Order]:
    """The seller's paid orders, newest first, annotated by `orders_with_earnings`: one query per page."""
    return orders_with_earnings(orders=Order.objects.filter(seller_id=seller_id, payment__isnull=False)).order_by(
        "-paid_at", "-id"
    )


def subscription_payments_with_earnings(*, seller_id: int) -> QuerySet[SubscriptionInvoice]:
    """The seller's paid subscription invoices, newest first, each annotated as an order is by
    `orders_with_earnings`, so the money page lists every sale whose money reached the seller (a
    subscription's invoice has no order): `fee_kept` (our application fee less what was given back),
    `refunded` (its succeeded refunds taken back from the seller, as Stripe took them: see
    `refunds_taken_beyond` in `orders_with_earnings`; and what a failed refund's reversal left in
    place took, until a refund or a lost dispute uses it: `kept_refunded`), `disputed` (what lost disputes
    took from the seller or left it owing) and `net` (what the payment left in the seller's balance).
    Each invoice is its own destination charge, so everything is read off its payment. One query per
    page."""
    account = OuterRef("subscription__seller__stripe_account_id")
    fees = ApplicationFee.objects.filter(payment_id=OuterRef("payment_id"), account=account).values("payment_id")
    taken_back = Refund.objects.filter(
        payment_id=OuterRef("payment_id"), status=RefundStatus.SUCCEEDED, reverse_transfer=True
    ).annotate(beyond=refund_share_taken_beyond())
    reversed_for_disputes = (
        TransferReversal.objects.filter(transfer__payment_id=OuterRef("payment_id"), transfer__destination=account)
        .exclude(for_dispute="")
        .values("transfer__payment_id")
        .annotate(total=Sum(F("amount") - F("kept_for_refund")))
        .values("total")
    )
    owed_for_disputes = (
        SellerDebt.objects.filter(
            dispute__payment_id=OuterRef("payment_id"), seller_id=OuterRef("subscription__seller_id")
        )
        .values("seller_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    invoices = SubscriptionInvoice.objects.filter(subscription__seller_id=seller_id, payment__isnull=False)
    return (
        _with_kept_reversals(
            invoices.select_related("subscription__buyer", "payment"),
            refunds=Refund.objects.filter(payment_id=OuterRef("payment_id")),
            taken=_summed(taken_back, "payment_id", F("amount") + F("beyond")),
            sale="payment__amount",
        )
        .annotate(
            refunds_taken_beyond=_summed(taken_back, "payment_id", F("beyond")),
            fee=Coalesce(
                Subquery(fees.annotate(total=Sum("amount")).values("total"), output_field=IntegerField()), Value(0)
            ),
            fee_refunded=Coalesce(
                Subquery(fees.annotate(total=Sum("amount_refunded")).values("total"), output_field=IntegerField()),
                Value(0),
            ),
            refunded=F("refunds_taken") + F("kept_refunded"),
            disputed=Coalesce(Subquery(reversed_for_disputes, output_field=IntegerField()), Value(0))
            + Coalesce(Subquery(owed_for_disputes, output_field=IntegerField()), Value(0)),
        )
        .annotate(fee_kept=F("fee") - F("fee_refunded"))
        .annotate(net=F("payment__amount") - F("fee_kept") - F("refunded") - F("disputed"))
        .order_by("-created_at", "-id")
    )


def orders_with_earnings(*, orders: QuerySet[Order]) -> QuerySet[Order]:
    """`orders`, each annotated with what it left the seller, from its own rows (one payment may
    pay several shops' orders, so nothing is read off the payment): `refunded` (its succeeded
    refunds taken back from the seller: one the platform paid costs the seller nothing, until a
    refund of everything left of a destination charge takes its share back after all, since Stripe
    then reverses the whole transfer; that refund counts what its mirrored reversal took, and what
    it took beyond its own amount is `refunds_taken_beyond`, for the pages to say so),
    `disputed` (what its lost disputes took from this seller, or left it owing: a lost dispute whose
    loss the platform bears costs the seller nothing), `fee_refunded` (the platform's fee given back to this seller:
    its application fee's refunds on a destination charge; on a payment for several shops, which has
    no application fee, each refund's part that its transfer reversal, and the reversal of a failed
    refund it reused (`Refund.share_reused`), did not take back) and
    `fee_kept` (the fee less what was given back: what the pages show, so that each row adds up).
    Net = `amount_total` - `fee_kept` - `refunded` - `disputed` (`order_net`). The money page and the
    seller's order pages read it here, so they say the same; an order with no payment recorded has
    nothing to subtract. Correlated subqueries: one query whatever the number of orders.

    A refund that failed after its reversal left that reversal in place (Stripe does not undo it):
    until the order's next refund uses it or a lost dispute counts it, it is money taken from the
    seller that no succeeded refund or dispute shows, so the seller's Stripe balance was lower than
    the row. What is left of it (`kept_refunded`: the reversal and, on a payment for several shops,
    the fee share booked with it, less what later refunds reused, as
    `payments.services.group_reversals_unused` counts it) is in `refunded` and its fee share in
    `fee_refunded`, as if that refund had succeeded; a destination charge's fee refund stays in
    place too and is already among its application fee's refunds. `kept_for_dispute` is what a lost
    dispute counted of such reversals (in `disputed`, by their name): the row says why either way."""
    application_fee_refunded = (
        ApplicationFee.objects.filter(payment_id=OuterRef("payment_id"), account=OuterRef("seller__stripe_account_id"))
        .values("payment_id")
        .annotate(total=Sum("amount_refunded"))
        .values("total")
    )
    taken_back = Refund.objects.filter(
        order_id=OuterRef("pk"), status=RefundStatus.SUCCEEDED, reverse_transfer=True
    ).annotate(beyond=refund_share_taken_beyond())
    # A destination charge's fee comes back by Stripe's own fee refunds (above), whatever its refund's
    # reversal (a refund after a failed one may reverse less, or nothing, using the kept reversal).
    # A refund of a shop's order took back its own reversal and what it reused of a failed refund's.
    reversal = TransferReversal.objects.filter(stripe_id=OuterRef("stripe_transfer_reversal_id")).values("amount")
    fee_share_refunded = (
        taken_back.filter(order__checkout_group__isnull=False)
        .annotate(
            reversed=Coalesce(Subquery(reversal[:1], output_field=IntegerField()), Value(0))
            + Coalesce(F("share_reused"), Value(0))
        )
        .filter(reversed__gt=0)
        .values("order_id")
        .annotate(total=Sum(F("amount") - F("reversed")))
        .values("total")
    )
    # What lost disputes of its payment took from this seller: the reversals of its transfer that
    # recovered them, and what they left it owing (collected since or not; the debt counts it, not
    # the later reversals that collect it, which may be of other orders' transfers).
    reversed_for_disputes = (
        TransferReversal.objects.filter(
            transfer__payment_id=OuterRef("payment_id"), transfer__destination=OuterRef("seller__stripe_account_id")
        )
        .exclude(for_dispute="")
        .values("transfer__payment_id")
        .annotate(total=Sum(F("amount") - F("kept_for_refund")))
        .values("total")
    )
    owed_for_disputes = (
        SellerDebt.objects.filter(dispute__payment_id=OuterRef("payment_id"), seller_id=OuterRef("seller_id"))
        .values("seller_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return (
        _with_kept_reversals(
            orders,
            refunds=Refund.objects.filter(order_id=OuterRef("pk")),
            taken=_summed(taken_back, "order_id", F("amount") + F("beyond")),
            sale="amount_total",
        )
        .annotate(
            refunds_taken_beyond=_summed(taken_back, "order_id", F("beyond")),
            fee_refunded=Coalesce(Subquery(application_fee_refunded, output_field=IntegerField()), Value(0))
            + Coalesce(Subquery(fee_share_refunded, output_field=IntegerField()), Value(0))
            + F("kept_fee_refunded"),
            refunded=F("refunds_taken") + F("kept_refunded"),
            disputed=Coalesce(Subquery(reversed_for_disputes, output_field=IntegerField()), Value(0))
            + Coalesce(Subquery(owed_for_disputes, output_field=IntegerField()), Value(0)),
        )
        .annotate(fee_kept=F("application_fee_amount") - F("fee_refunded"))
    )


def _summed(refunds: QuerySet[Refund], by: str, amount: Any) -> Any:
    """The sum of `amount` over `refunds` (correlated on the row, grouped `by` it), 0 when none."""
    summed = refunds.values(by).annotate(total=Sum(amount)).values("total")
    return Coalesce(Subquery(summed, output_field=IntegerField()), Value(0))


def _with_kept_reversals(rows: QuerySet[_Row], *, refunds: QuerySet[Refund], taken: Any, sale: str) -> QuerySet[_Row]:
    """`rows` (orders, or subscription invoices) annotated with `refunds_taken` (`taken`: their
    succeeded refunds taken back from the seller) and what the reversals of their failed `refunds`
    (correlated on the row) left in place: `kept_refunded` (those no lost dispute counted, with the
    fee share booked with each, less what the refunds not failed reused of them:
    `payments.services._reversals_unused` in SQL; never more than is left of the `sale` after
    `refunds_taken`, since a destination charge's refund of everything left reverses only what is
    left of the transfer and so uses them without saying), `kept_fee_refunded` (that fee share) and
    `kept_for_dispute` (what a lost dispute counted of them, `disputed` already has it; a dispute
    smaller than a kept reversal counts its part, and the rest stays in `kept_refunded`, with the
    rest of its fee share, on a payment for several shops, in `kept_fee_refunded`)."""
    reversal = TransferReversal.objects.filter(stripe_id=OuterRef("stripe_transfer_reversal_id"))
    # One a lost dispute counted in part keeps the rest for a refund (`TransferReversal.kept_for_refund`),
    # and of the fee share booked with it (`fee_kept_for_refund`).
    counted_by_dispute = reversal.exclude(for_dispute="")
    kept_part = reversal.annotate(
        kept=Case(When(for_dispute="", then=F("amount")), default=F("kept_for_refund"))
    ).values("kept")
    counted = counted_by_dispute.annotate(part=F("amount") - F("kept_for_refund")).values("part")
    failed = (
        refunds.exclude(status__in=OPEN_REFUND_STATUSES)
        .exclude(stripe_transfer_reversal_id="")
        .annotate(
            kept=Coalesce(Subquery(kept_part[:1]), Value(0)),
            uncounted=Coalesce(Subquery(reversal.filter(for_dispute="").values("amount")[:1]), Value(0)),
            counted=Coalesce(Subquery(counted[:1]), Value(0)),
        )
        .annotate(
            fee_kept=Case(
                When(
                    Q(uncounted__gt=0) & Q(refund_application_fee=True),
                    then=F("amount") - F("uncounted") - Coalesce(F("share_reused"), Value(0)) - F("fee_reused"),
                ),
                default=Coalesce(Subquery(counted_by_dispute.values("fee_kept_for_refund")[:1]), Value(0)),
                output_field=IntegerField(),
            )
        )
    )

    def total(rows: QuerySet[Refund], amount: Any) -> Any:
        return _summed(rows, "payment_id", amount)

    used = refunds.filter(status__in=OPEN_REFUND_STATUSES)
    share_left = Greatest(total(failed, "kept") - total(used, Coalesce(F("share_reused"), Value(0))), Value(0))
    fee_left = Greatest(total(failed, "fee_kept") - total(used, "fee_reused"), Value(0))
    return rows.annotate(
        refunds_taken=taken,
        kept_refunded=Least(share_left + fee_left, Greatest(F(sale) - F("refunds_taken"), Value(0))),
        kept_fee_refunded=Least(fee_left, F("kept_refunded")),
        kept_for_dispute=total(failed, "counted"),
    )


def order_with_earnings(*, orders: QuerySet[Order]) -> Order:
    """The one order of `orders` (already narrowed to it, and to whoever may see it) annotated by
    `orders_with_earnings` (the seller's order page, the API's order), in one query, and
    `dispute_owed`: what its lost disputes left the seller owing and is not collected yet. `disputed`
    counts a debt as soon as it is owed, so the page must not call all of it taken: nothing left the
    seller's balance yet, as the money page's "You owe the platform" says. NotFound when `orders` is
    empty: the API finds and annotates the order in that one query."""
    owed = (
        SellerDebt.objects.filter(
            dispute__payment_id=OuterRef("payment_id"), seller_id=OuterRef("seller_id"), settled_at__isnull=True
        )
        .values("seller_id")
        .annotate(total=Sum(F("amount") - F("collected")))
        .values("total")
    )
    found = (
        orders_with_earnings(orders=orders)
        .annotate(dispute_owed=Coalesce(Subquery(owed, output_field=IntegerField()), Value(0)))
        .first()
    )
    if found is None:
        raise NotFound("No such order.", code="order_not_found")
    return found


def order_net(order: Order) -> int:
    """An order of `orders_with_earnings`: its sale less what the seller gave up on it."""
    given_up = (int(getattr(order, name)) for name in ("fee_kept", "refunded", "disputed"))  # annotations
    return order.amount_total - sum(given_up)


@dataclass(frozen=True)
class WeeklyEarnings:
    currency: str
    weeks: list[tuple[datetime, int]]  # (Monday 00:00 UTC, net earnings), oldest first, 12 of them

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.weeks)


def weekly_earnings(*, account: str, weeks: int = 12, now: datetime | None = None) -> list[WeeklyEarnings]:
    """Net earnings per week for the last `weeks` weeks (this one included), per currency, from
    the ledger: what came onto the seller's Stripe balance less what left it, payouts aside
    (sales less fees, refunds and disputes). One aggregate query.

    The weeks end with this one, or with a later week Stripe dated money in: its clock is the one
    that dates postings, and a test clock (the sandbox's, or Stripe's test clocks) runs ahead of ours."""
    now = now or timezone.now()
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    totals = ledger_totals_by_period(
        period="week",
        start=first,
        codes=[stripe_balance(account).code],
        stripe_account=account,
        exclude_kinds=PAYOUT_KINDS,
    )
    last = max((row.period for row in totals), default=first)
    first = max(first, last - timedelta(weeks=weeks - 1))
    starts = [first + timedelta(weeks=i) for i in range(weeks)]
    by_currency: dict[str, dict[datetime, int]] = {}
    for row in totals:
        by_currency.setdefault(row.currency, {})[row.period] = row.amount
    return [
        WeeklyEarnings(currency, [(start, amounts.get(start, 0)) for start in starts])
        for currency, amounts in sorted(by_currency.items())
    ]


# --- The statement ----------------------------------------------------------------------------

STATEMENT_BATCH = 500  # lines named together: a handful of queries per batch, never one per line
NO_ORDER_PAYOUT = "No order: money paid out to your bank"
NO_ORDER_PAYOUT_RETURNED = "No order: a payout that came back to your balance"  # failed or canceled
NO_ORDER_DEBT = "No single order: collects what a lost dispute left you owing"
NO_ORDER = "No order"
STATEMENT_LABELS: dict[str, str] = {
    PostingKind.TRANSFER: "Sale",
    PostingKind.APPLICATION_FEE: "Marketplace fee",
    PostingKind.TRANSFER_REVERSAL: "Taken back for a refund",
    PostingKind.APPLICATION_FEE_REFUND: "Marketplace fee refunded",
    PostingKind.PAYOUT: "Payout",
    PostingKind.PAYOUT_FAILURE: LINE_LABELS["payout_failure"],
    PostingKind.PAYOUT_CANCEL: LINE_LABELS["payout_cancel"],
}
FEE_OFF_LABELS: dict[str, str] = {
    PostingKind.TRANSFER: "Sale, less the marketplace fee",
    PostingKind.TRANSFER_REVERSAL: "Taken back for a refund, less the marketplace fee's share",
}


@dataclass(frozen=True)
class SellerStatementLine:
    """A line of the seller's statement with what it stems from, as the seller's pages name it: the
    order (its number, as the orders pages show it), a subscription payment, or why it has none."""

    line: StatementLine
    order_id: int | None = None
    subscription_payment_id: int | None = None  # a `SubscriptionInvoice`, whose page names its payment
    subscription_title: str = ""
    no_order: str = ""
    recovery: bool = False  # a transfer reversal that recovered a lost dispute (or collected its debt)
    fee_off: bool = False  # a shop's part of a payment for several shops: the fee was never a line of its own

    @property
    def label(self) -> str:
        """What the line is, in the words of the payout's page (`LINE_LABELS`). A shop's part of a
        payment for several shops came in one transfer less the fee, and a refund of it takes back the
        part less the fee's share (`FEE_OFF_LABELS`): named "Sale" as a shop paid alone, whose fee is a
        line of its own, it read ¥21,600 where the order's page says a sale of ¥24,000."""
        if self.recovery:
            return DISPUTE_RECOVERY_LABEL
        kind = self.line.kind
        if self.fee_off and kind in FEE_OFF_LABELS:
            return FEE_OFF_LABELS[kind]
        return STATEMENT_LABELS.get(kind, kind.replace("_", " ").capitalize())

    @property
    def reference(self) -> str:
        if self.order_id is not None:
            return f"Order {self.order_id}"
        if self.subscription_payment_id is not None:
            return f"Subscription payment: {self.subscription_title}"
        return self.no_order


def statement(*, seller_id: int, account: str, start: datetime, end: datetime) -> Iterator[SellerStatementLine]:
    """Every movement of the seller's Stripe balance in [start, end), payouts included, streamed,
    each named by its order (`statement_named`), a batch of lines at a time."""
    batch: list[StatementRow] = []
    for row in statement_rows(account=account, start=start, end=end).iterator(chunk_size=STATEMENT_BATCH):
        batch.append(row)
        if len(batch) == STATEMENT_BATCH:
            yield from statement_named(rows=batch, seller_id=seller_id)
            batch = []
    yield from statement_named(rows=batch, seller_id=seller_id)


def statement_rows(*, account: str, start: datetime, end: datetime) -> QuerySet[Any, StatementRow]:
    """The statement's rows for a page to count and slice; `statement_named` names a page's."""
    return ledger_statement_rows(account=stripe_balance(account), start=start, end=end)


def statement_named(*, rows: Iterable[StatementRow], seller_id: int) -> list[SellerStatementLine]:
    """The lines of `rows` (of `statement_rows`), each with its order, in at most eight queries
    whatever the number of lines.

    A ledger line names a Stripe object (`source_id`); our mirror of that object names the payment it
    belongs to, and the seller's order of that payment is the order (a payment for several shops has
    one order per shop, so the seller decides which; a shop's transfer in such a payment is also
    its order's own `stripe_transfer_id`). A sale, its application fee, a refund's transfer reversal
    and fee refund, and a lost dispute's recovery all name the order they took from or gave to;
    a subscription's invoice, which is no order, names its subscription payment. A reversal that
    collects a lost dispute's debt is taken from whichever later sale had funds (`payments.recovery`):
    it names the disputed sale's order (`TransferReversal.for_debt_of`), not the sale it took from,
    or, collected before we kept that, no order, and says so; so does a payout, which pays out many
    sales at once."""
    lines = [statement_line(row) for row in rows]
    by_kind: dict[str, set[str]] = {}
    for line in lines:
        by_kind.setdefault(line.kind, set()).add(line.source_id)
    payment_of: dict[str, int | None] = {}  # Stripe object -> our payment
    transfer_of: dict[str, str] = {}  # Stripe object -> the transfer it is or reverses
    if ids := by_kind.get(PostingKind.TRANSFER):
        for stripe_id, payment_id in Transfer.objects.filter(stripe_id__in=ids).values_list("stripe_id", "payment_id"):
            payment_of[stripe_id], transfer_of[stripe_id] = payment_id, stripe_id
    if ids := by_kind.get(PostingKind.APPLICATION_FEE):
        payment_of.update(ApplicationFee.objects.filter(stripe_id__in=ids).values_list("stripe_id", "payment_id"))
    debts: set[str] = set()  # collections of a debt recorded before `for_debt_of`: their dispute unknown
    recoveries: set[str] = set()
    if ids := by_kind.get(PostingKind.TRANSFER_REVERSAL):
        reversals = TransferReversal.objects.filter(stripe_id__in=ids).values_list(
            "stripe_id", "transfer__payment_id", "transfer__stripe_id", "for_dispute", "for_debt_of"
        )
        unnamed, debt_of = set(), {}
        for stripe_id, payment_id, transfer_id, for_dispute, for_debt_of in reversals:
            if for_debt_of:  # taken from a later sale for the disputed one: named by the dispute's payment
                debt_of[stripe_id] = for_debt_of
                continue
            payment_of[stripe_id], transfer_of[stripe_id] = payment_id, transfer_id
            if for_dispute:
                recoveries.add(stripe_id)
            else:
                unnamed.add(stripe_id)
        if debt_of:
            disputed = dict(
                Dispute.objects.filter(stripe_id__in=debt_of.values()).values_list("stripe_id", "payment_id")
            )
            payment_of.update({stripe_id: disputed.get(dispute) for stripe_id, dispute in debt_of.items()})
            recoveries.update(debt_of)
        # A recovery named for no dispute is a debt's collection from before `for_debt_of` (the
        # ledger booked it against the seller's dispute losses, `flows.transfer_reversal`).
        if unnamed:
            debts = ledger_sources_posted_to(
                source_ids=unnamed, kind=PostingKind.TRANSFER_REVERSAL, code=AccountCode.SELLER_DISPUTE_LOSSES
            )
    if ids := by_kind.get(PostingKind.APPLICATION_FEE_REFUND):
        payment_of.update(
            ApplicationFeeRefund.objects.filter(stripe_id__in=ids).values_list("stripe_id", "fee__payment_id")
        )
    payments = {p for p in payment_of.values() if p}
    transfers = set(transfer_of.values())
    order_of_payment: dict[int, int] = {}
    order_of_transfer: dict[str, int] = {}
    invoice_of: dict[int, tuple[int, str]] = {}
    if payments or transfers:
        orders = Order.objects.filter(seller_id=seller_id).filter(
            Q(payment_id__in=payments) | Q(stripe_transfer_id__in=transfers - {""})
        )
        for order_id, payment_id, transfer_id in orders.values_list("id", "payment_id", "stripe_transfer_id"):
            if payment_id is not None:
                order_of_payment.setdefault(payment_id, order_id)
            if transfer_id:
                order_of_transfer[transfer_id] = order_id
    if payments:
        invoices = SubscriptionInvoice.objects.filter(subscription__seller_id=seller_id, payment_id__in=payments)
        for invoice_id, payment_id, title in invoices.values_list("id", "payment_id", "subscription__title"):
            invoice_of[payment_id] = (invoice_id, title)

    def named(line: StatementLine) -> SellerStatementLine:
        source = line.source_id
        if line.kind == PostingKind.PAYOUT:
            return SellerStatementLine(line, no_order=NO_ORDER_PAYOUT)
        if line.kind in PAYOUT_KINDS:
            return SellerStatementLine(line, no_order=NO_ORDER_PAYOUT_RETURNED)
        if source in debts:
            return SellerStatementLine(line, no_order=NO_ORDER_DEBT, recovery=True)
        recovery = source in recoveries
        order_id = order_of_transfer.get(transfer_of.get(source, "")) or order_of_payment.get(
            payment_of.get(source) or 0
        )
        if order_id is not None:
            # Only a payment for several shops gives its orders a transfer of their own (`Order.stripe_transfer_id`).
            fee_off = transfer_of.get(source, "") in order_of_transfer
            return SellerStatementLine(line, order_id=order_id, recovery=recovery, fee_off=fee_off)
        if invoice := invoice_of.get(payment_of.get(source) or 0):
            return SellerStatementLine(
                line, subscription_payment_id=invoice[0], subscription_title=invoice[1], recovery=recovery
            )
        return SellerStatementLine(line, no_order=NO_ORDER, recovery=recovery)

    return [named(line) for line in lines]
