"""Writes of the seller's side: mirror a transfer or an application fee, their reversals and
refunds, and a payout, posting each to the ledger; mirror the seller's bank accounts; set the
seller's payout schedule and pay out now.

A transfer or a fee may be learnt twice and in any order: from the paid charge that names it
(Stripe creates a destination charge's transfer and fee with the charge) and from its own webhook
(`transfer.created`, `application_fee.created`). The row is inserted once on its Stripe id (a
second insert does nothing) and the posting is unique on (Stripe id, kind) with the same legs
either way, so it is recorded and posted once; the charge's path links the row to its payment.

`transfer_record` and `application_fee_record` run inside the caller's database transaction (the
webhook's, or the payment's) without a savepoint of their own: an error aborts the whole change,
and a webhook's work is one statement (`_post_with_row`: the seller's ledger lock, the posting's
transaction and legs, and the mirror row), which keeps the worker's cost per event down
(`make bench-webhooks`). The lock (`ledger_lock_stripe_account`) makes the charge's path and these
events, racing for the same seller, queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from marketplace.errors import Conflict, InvalidInput, PaymentProviderNoAnswer
from marketplace.gateway import accounts as gateway_accounts
from marketplace.gateway import balances as gateway_balances
from marketplace.gateway import payouts as gateway_payouts
from marketplace.gateway.accounts import AccountAccessRevoked
from marketplace.gateway.types import ApplicationFeeRefund as StripeApplicationFeeRefund
from marketplace.gateway.types import Payout as StripePayout
from marketplace.gateway.types import PayoutSchedule
from marketplace.gateway.types import TransferReversal as StripeTransferReversal
from marketplace.ledger import flows
from marketplace.ledger.services import Posting, ledger_lock_stripe_account, ledger_post_one, ledger_reverse
from marketplace.outbox.services import outbox_add
from payments.models import Payment, SellerDebt
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
from payouts.selectors import balance_fresh_forget, balance_reread, schedule_remember

Mirror = TypeVar("Mirror", Transfer, ApplicationFee)


def _available_balance_move(*, account: str, currency: str, change: int) -> None:
    """Money was taken back from the seller's available balance at Stripe (a transfer reversal), or
    given to it (a fee refund): move the seller's `AvailableBalance` by what we mirrored, in the
    mirror's own transaction, instead of reading the balance from Stripe for every reversal (a
    refund of an order of many shops, a dispute's recovery, each webhook of one: a call each). Stripe
    takes both from, or adds both to, the available balance at once (connect-behaviour.md, (d)), so
    the console's negative balances see a reversal that took it below zero without the seller
    opening the page. Once per Stripe object: the caller moves it only when it wrote the mirror row.

    An account never read in that currency has no figure to move: its balance is read from Stripe
    once committed (`balance_reread`), and moved from then on. Either way the seller's next Money page
    reads Stripe rather than the balance cached before the change."""
    moved = AvailableBalance.objects.filter(account=account, currency=currency).update(amount=F("amount") + change)
    if moved:
        transaction.on_commit(lambda: balance_fresh_forget(account=account))
    else:
        transaction.on_commit(lambda: balance_reread(account=account))


def transfer_record(
    *,
    transfer_id: str,
    destination: str,
    amount: int,
    currency: str,
    created: int,
    payment: Payment | None = None,
    platform_fee: int | None = None,
) -> None:
    """Mirror a transfer to a seller and post it (platform balance -> seller balance).

    `platform_fee` is given for a transfer the platform made itself from a payment for several
    shops (`flows.separate_transfer`: the fee it kept by not sending it); None for a destination
    charge's transfer, whose fee is its own application fee object."""
    when = datetime.fromtimestamp(created, tz=UTC)
    if platform_fee is None:
        posting = flows.transfer(transfer_id=transfer_id, seller=destination, amount=amount, currency=currency)
    else:
        posting = flows.separate_transfer(
            transfer_id=transfer_id, seller=destination, amount=amount, platform_fee=platform_fee, currency=currency
        )
    row = Transfer(
        stripe_id=transfer_id,
        destination=destination,
        amount=amount,
        currency=currency,
        payment=payment,
        created_at=when,
    )
    _post_with_row(posting, row, seller=destination, when=when)


def application_fee_record(
    *,
    application_fee_id: str,
    account: str,
    amount: int,
    currency: str,
    created: int,
    payment: Payment | None = None,
) -> None:
    """Mirror the platform's fee on a seller's payment and post it (seller balance -> platform
    balance, the platform's revenue and the seller's deduction)."""
    when = datetime.fromtimestamp(created, tz=UTC)
    posting = flows.application_fee(
        application_fee_id=application_fee_id, seller=account, amount=amount, currency=currency
    )
    row = ApplicationFee(
        stripe_id=application_fee_id,
        account=account,
        amount=amount,
        currency=currency,
        payment=payment,
        created_at=when,
    )
    _post_with_row(posting, row, seller=account, when=when)


def _post_with_row(posting: Posting, row: Mirror, *, seller: str, when: datetime) -> None:
    """Post `posting` under `seller`'s ledger lock with its mirror `row` in the same statement (the
    row is inserted unless its Stripe id is there), then link the row to its payment."""
    with transaction.atomic(savepoint=False):
        ledger_post_one(posting=posting, occurred_at=when, lock_stripe_account=seller, with_row=row)
        _link_payment(row)


class NotRecordedYet(Conflict):
    """What a reversal or fee refund belongs to is not recorded yet (its event came first): the
    caller records it first, or the event is retried."""

    code = "not_recorded_yet"


def transfer_reversal_record(
    *,
    reversal_id: str,
    transfer_id: str,
    destination: str,
    amount: int,
    currency: str,
    created: int,
    source_refund: str = "",
    platform_fee_refunded: int | None = None,
    dispute_recovery: bool = False,
) -> TransferReversal:
    """Mirror a transfer reversal (money back from the seller: a refund's share, a dispute's
    recovery) and post it (seller balance -> platform balance). Once per Stripe id, whoever calls
    first (the refund's own recording, `transfer.reversed`); the transfer must be recorded.

    `platform_fee_refunded` is given for a reversal of a transfer the platform made itself (a
    payment for several shops): the part of its fee the platform gives up with it
    (`flows.separate_transfer_reversal`); written in the reversal's metadata so every path posts
    the same legs. `dispute_recovery` (the reversal's metadata says so, for every path) books it
    against the platform's dispute loss as well."""
    when = datetime.fromtimestamp(created, tz=UTC)
    with transaction.atomic(savepoint=False):
        ledger_lock_stripe_account(stripe_account=destination)
        transfer = Transfer.objects.filter(stripe_id=transfer_id).first()
        if transfer is None:
            raise NotRecordedYet(f"Transfer {transfer_id} of reversal {reversal_id} is not recorded yet.")
        is_new = not TransferReversal.objects.filter(stripe_id=reversal_id).exists()
        TransferReversal.objects.bulk_create(
            [
                TransferReversal(
                    stripe_id=reversal_id,
                    transfer=transfer,
                    amount=amount,
                    currency=currency,
                    source_refund=source_refund,
                    created_at=when,
                )
            ],
            ignore_conflicts=True,
        )
        reversed_total = transfer.reversals.aggregate(total=Sum("amount"))["total"] or 0
        Transfer.objects.filter(pk=transfer.pk).update(amount_reversed=reversed_total)
        if platform_fee_refunded is None:
            posting = flows.transfer_reversal(
                reversal_id=reversal_id,
                seller=destination,
                amount=amount,
                currency=currency,
                dispute_recovery=dispute_recovery,
            )
        else:
            posting = flows.separate_transfer_reversal(
                reversal_id=reversal_id,
                seller=destination,
                amount=amount,
                platform_fee_refunded=platform_fee_refunded,
                currency=currency,
                dispute_recovery=dispute_recovery,
            )
        ledger_post_one(posting=posting, occurred_at=when)
        if is_new:
            _available_balance_move(account=destination, currency=currency, change=-amount)
        return TransferReversal.objects.get(stripe_id=reversal_id)


DISPUTE_RECOVERY_REASON = "dispute_recovery"  # the metadata `reason` of the reversals that recover lost disputes


def transfer_reversal_from_stripe(*, reversal: StripeTransferReversal, destination: str) -> TransferReversal:
    """`transfer_reversal_record` of the gateway's typed reversal."""
    return transfer_reversal_record(
        reversal_id=reversal.id,
        transfer_id=reversal.transfer,
        destination=destination,
        amount=reversal.amount,
        currency=reversal.currency,
        created=reversal.created,
        source_refund=reversal.source_refund or "",
        platform_fee_refunded=_metadata_amount(reversal.metadata, "platform_fee_refunded"),
        dispute_recovery=reversal.metadata.get("reason") == DISPUTE_RECOVERY_REASON,
    )


def transfer_reversal_name_dispute(*, reversal_id: str, dispute_id: str) -> None:
    """Say which lost dispute a reversal recovered (`TransferReversal.for_dispute`): ours to know,
    so it is written here, after the reversal's row exists, whichever path recorded it."""
    TransferReversal.objects.filter(stripe_id=reversal_id).update(for_dispute=dispute_id)


def transfer_reversal_name_debt(*, reversal_id: str, dispute_id: str) -> None:
    """Say which lost dispute's debt a reversal collected (`TransferReversal.for_debt_of`): it was
    taken from a later sale, and the seller's statement names the disputed sale's order by it."""
    TransferReversal.objects.filter(stripe_id=reversal_id).update(for_debt_of=dispute_id)


def kept_reversals_count_for_dispute(
    *,
    reversals: Sequence[tuple[str, int, int]],
    dispute_id: str,
    destination: str,
    amount: int,
    currency: str,
) -> None:
    """A lost dispute's recovery counted `amount` of the reversals its payment's failed refunds left
    in place, of the seller `destination` (`reversals`: those it counted something of, each with
    what stays kept of it for a refund, of the seller's share and of the fee share booked with it,
    `payments.services.kept_reversals_counted`): name them for it, so no later recovery counts
    them again and the seller's earnings show what it counted as taken for it, keep the rest
    (`TransferReversal.kept_for_refund`, `fee_kept_for_refund`), and post `amount` as recovered for
    the dispute (`flows.kept_reversal_for_dispute`), so the revenue report stops counting it as taken
    back for a refund. Within the recovery's transaction, once.

    A dispute smaller than a kept reversal takes only its part of it (on a payment for several
    shops, with the fee share in proportion), and the rest stays what it was, the seller's share of
    a refund that failed, which the next refund uses. Naming the whole reversal for the dispute
    while posting only its part would show the rest as taken for the dispute on the money page and
    leave the next refund nothing to use; this way the money page (`payouts.selectors`), the report
    and the ledger each say the same and equal Stripe."""
    for reversal_id, kept, fee_kept in reversals:
        TransferReversal.objects.filter(stripe_id=reversal_id).update(
            for_dispute=dispute_id, kept_for_refund=kept, fee_kept_for_refund=fee_kept
        )
    if amount <= 0:
        return
    ids = [reversal_id for reversal_id, _kept, _fee in reversals]
    made = TransferReversal.objects.filter(stripe_id__in=ids).values_list("created_at", flat=True)
    posting = flows.kept_reversal_for_dispute(
        dispute_id=dispute_id, seller=destination, amount=amount, currency=currency
    )
    ledger_post_one(posting=posting, occurred_at=max([timezone.now(), *made]))


def _metadata_amount(metadata: dict[str, str], key: str) -> int | None:
    """An amount we wrote in a Stripe object's metadata (a separate transfer's fee, or the part of it
    a reversal gives back); None when absent."""
    raw = metadata.get(key)
    return int(raw) if raw is not None and raw.isdigit() else None


def application_fee_refund_record(
    *, fee_refund: StripeApplicationFeeRefund, application_fee_id: str, account: str
) -> ApplicationFeeRefund:
    """Mirror a refund of the platform's fee (money from the platform's balance back to the
    seller's) and post it. Once per Stripe id; the fee must be recorded."""
    fee_refund_id, amount, currency = fee_refund.id, fee_refund.amount, fee_refund.currency
    when = datetime.fromtimestamp(fee_refund.created, tz=UTC)
    with transaction.atomic(savepoint=False):
        ledger_lock_stripe_account(stripe_account=account)
        fee = ApplicationFee.objects.filter(stripe_id=application_fee_id).first()
        if fee is None:
            raise NotRecordedYet(f"Application fee {application_fee_id} of {fee_refund_id} is not recorded yet.")
        is_new = not ApplicationFeeRefund.objects.filter(stripe_id=fee_refund_id).exists()
        ApplicationFeeRefund.objects.bulk_create(
            [ApplicationFeeRefund(stripe_id=fee_refund_id, fee=fee, amount=amount, currency=currency, created_at=when)],
            ignore_conflicts=True,
        )
        refunded_total = fee.refunds.aggregate(total=Sum("amount"))["total"] or 0
        ApplicationFee.objects.filter(pk=fee.pk).update(amount_refunded=refunded_total)
        posting = flows.application_fee_refund(
            fee_refund_id=fee_refund_id, seller=account, amount=amount, currency=currency
        )
        ledger_post_one(posting=posting, occurred_at=when)
        if is_new:
            _available_balance_move(account=account, currency=currency, change=amount)
        return ApplicationFeeRefund.objects.get(stripe_id=fee_refund_id)


def _link_payment(row: Mirror) -> None:
    """Link the mirror row (inserted with its posting unless its Stripe id was there already) to
    its payment when this path knows the payment: the row may have come first from its own
    webhook, which does not look for the payment."""
    if row.payment is not None:
        type(row).objects.filter(stripe_id=row.stripe_id, payment__isnull=True).update(payment=row.payment)


def payout_record(*, payout: StripePayout, account: str, seen_at: int) -> Payout:
    """Mirror a payout as Stripe has it now (`payout`, re-read by the caller) and keep the ledger
    with it: posted once when first seen (Stripe debits the balance when it creates the payout),
    reversed once when it failed or was canceled (the money is back on the balance). A payout that
    turns failed for the first time emails the seller, once (the outbox key).

    `seen_at` (Unix seconds: the event's `created`) dates the reversal: the moment Stripe said so.
    """
    when = datetime.fromtimestamp(payout.created, tz=UTC)
    fields = {
        "account": account,
        "amount": payout.amount,
        "currency": payout.currency,
        "status": payout.status,
        "automatic": payout.automatic,
        "arrival_date": datetime.fromtimestamp(payout.arrival_date, tz=UTC),
        "failure_code": payout.failure_code or "",
        "failure_message": payout.failure_message or "",
        "reconciliation_status": payout.reconciliation_status or "",
        "created_at": when,
    }
    with transaction.atomic(savepoint=False):
        ledger_lock_stripe_account(stripe_account=account)
        row, created = Payout.objects.select_for_update().get_or_create(stripe_id=payout.id, defaults=fields)
        was = None if created else row.status
        if not created:
            Payout.objects.filter(pk=row.pk).update(**fields)
            row.refresh_from_db()
        posting = flows.payout(
            payout_id=payout.id, stripe_account=account, amount=payout.amount, currency=payout.currency
        )
        original = ledger_post_one(posting=posting, occurred_at=when)
        if payout.status in (PayoutStatus.FAILED, PayoutStatus.CANCELED):
            failed = payout.status == PayoutStatus.FAILED
            kind = flows.PostingKind.PAYOUT_FAILURE if failed else flows.PostingKind.PAYOUT_CANCEL
            ledger_reverse(
                original=original,
                kind=kind,
                description=f"Payout {payout.id} {payout.status}: back on the balance",
                occurred_at=datetime.fromtimestamp(max(seen_at, payout.created), tz=UTC),
            )
        if payout.status == PayoutStatus.FAILED and was != PayoutStatus.FAILED and account:
            outbox_add("payouts.email.payout_failed", row.pk, key=f"payout-failed:{payout.id}")
        return row


def bank_accounts_sync(*, account: str) -> list[BankAccount]:
    """Mirror the seller's bank accounts as Stripe has them now, read through the gateway: called
    for every `account.external_account.*` event and for a failed payout, in whatever order they
    come, so the rows are Stripe's latest word (a bank account Stripe no longer lists is deleted:
    the seller replaced it). A disconnected account keeps what was last seen."""
    try:
        remote = gateway_accounts.account_retrieve(account)
    except AccountAccessRevoked:
        return list(BankAccount.objects.filter(account=account))
    with transaction.atomic(savepoint=False):
        for bank in remote.bank_accounts:
            BankAccount.objects.update_or_create(
                stripe_id=bank.id,
                defaults={
                    "account": account,
                    "status": bank.status or "",
                    "last4": bank.last4 or "",
                    "bank_name": bank.bank_name or "",
                    "currency": bank.currency or "",
                },
            )
        BankAccount.objects.filter(account=account).exclude(stripe_id__in=[b.id for b in remote.bank_accounts]).delete()
        return list(BankAccount.objects.filter(account=account).order_by("pk"))


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INTERVALS = ("daily", "weekly", "monthly", "manual")
# What `seller_payout_schedule_set` says of each argument it refuses (the form says the same).
SCHEDULE_REFUSALS = {
    "interval": "Choose daily, weekly, monthly or manual payouts.",
    "weekly_anchor": "Choose the day of the week your payouts are sent.",
    "monthly_anchor": "Choose a day of the month between 1 and 31.",
    "form_token": "This form has expired: reload the page and try again.",
}


def _is_form_token(form_token: str) -> bool:
    """Is it a token the money page draws (ASCII letters and digits, at most 64)? It goes into
    Stripe's idempotency key, a request header: full-width digits cannot be sent in one, and the page said
    Stripe could not be reached."""
    return bool(form_token) and len(form_token) <= 64 and form_token.isascii() and form_token.isalnum()


def seller_payout_schedule_set(
    *,
    account: str,
    seller_id: int,
    interval: str,
    weekly_anchor: str | None = None,
    monthly_anchor: int | None = None,
    form_token: str,
) -> PayoutSchedule:
    """Change when Stripe pays the seller out (Express accounts' schedule is the platform's to set:
    an account update through the gateway). Refuses a schedule Stripe would refuse, with a sentence;
    `form_token` makes a double submit of one form one change at Stripe (see the gateway)."""
    if interval not in INTERVALS:
        raise InvalidInput(SCHEDULE_REFUSALS["interval"], code="invalid_schedule")
    if interval == "weekly" and weekly_anchor not in WEEKDAYS:
        raise InvalidInput(SCHEDULE_REFUSALS["weekly_anchor"], code="invalid_schedule")
    if interval == "monthly" and (monthly_anchor is None or not 1 <= monthly_anchor <= 31):
        raise InvalidInput(SCHEDULE_REFUSALS["monthly_anchor"], code="invalid_schedule")
    if not _is_form_token(form_token):
        raise InvalidInput(SCHEDULE_REFUSALS["form_token"], code="invalid_schedule")
    wanted = PayoutSchedule(
        interval=interval,
        weekly_anchor=weekly_anchor if interval == "weekly" else None,
        monthly_anchor=monthly_anchor if interval == "monthly" else None,
    )
    updated = gateway_accounts.account_payout_schedule_update(
        account_id=account, seller_id=seller_id, schedule=wanted, form_token=form_token
    )
    schedule = updated.payout_schedule or wanted
    schedule_remember(account=account, schedule=schedule)
    return schedule


NOTHING_TO_PAY_OUT = (
    "Nothing is available to pay out in {currency} right now: sales become available a few days after payment."
)


# How long a payout whose answer was lost is sent again as it was: under the 24 hours Stripe keeps an
# idempotency key, so the resend is always either Stripe's first answer or a payout the seller asked again.
STRIPE_KEEPS_KEYS = 23 * 3600
PAYOUT_ANSWER_LOST = (
    "Stripe did not answer, so we cannot tell yet whether the payout was made. It is never made twice: press "
    "Pay out now again to find out, or wait, and it shows under your payouts as soon as Stripe tells us."
)


def seller_payout_request(*, account: str, seller_id: int, currency: str, form_token: str) -> Payout:
    """Pay the seller's available balance in `currency` out to its bank now, for a seller on a
    manual schedule: Stripe then pays nothing out by itself, and without this the seller who chose
    "Manual" could never have the money sent. On any other schedule Stripe pays out by itself, and
    asking as well is refused with a sentence (as Stripe refuses payouts of an automatic schedule).

    The balance is read now, not from the page's cache, and the payout is recorded and posted at once
    (`payout_record`, as its `payout.*` events do after); `form_token` makes a double submit of one
    form one payout: two at once share the gateway's key, and a later one is answered with the payout
    the first made (remembered for a day in the cache; without it, the second finds nothing left
    available and says so). A
    seller who owes the platform for lost disputes in that currency is refused: those debts are
    collected from the available balance (`payments.recovery.seller_debts_collect`), which this would empty first."""
    if not _is_form_token(form_token):
        raise InvalidInput(SCHEDULE_REFUSALS["form_token"], code="invalid_form_token")
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):  # the form's list sends one
        raise InvalidInput("Choose the currency to pay out.", code="invalid_currency")
    made_by_form = f"payouts:payout-now:{seller_id}:{form_token}:{currency}"
    earlier = Payout.objects.filter(pk=cache.get(made_by_form) or 0, account=account).first()
    if earlier is not None:
        return earlier
    unanswered = f"payouts:payout-unanswered:{seller_id}:{currency}"
    lost = _payout_resend(account=account, seller_id=seller_id, currency=currency, key=unanswered)
    if lost is not None:
        cache.set(made_by_form, lost.pk, timeout=86_400)
        return lost
    schedule = gateway_accounts.account_retrieve(account).payout_schedule
    if schedule is None or schedule.interval != "manual":
        raise Conflict(
            "Stripe pays your balance out on your schedule; choose manual payouts to send them yourself.",
            code="payouts_automatic",
        )
    if SellerDebt.objects.filter(seller_id=seller_id, currency=currency, settled_at__isnull=True).exists():
        raise Conflict(
            f"You owe the platform for a lost dispute in {currency.upper()}: it is collected from your "
            "available balance first, so it cannot be paid out now.",
            code="seller_debt_outstanding",
        )
    balance = gateway_balances.balance_retrieve(account=account)
    available = sum(part.amount for part in balance.available if part.currency == currency)
    if available <= 0:
        raise InvalidInput(NOTHING_TO_PAY_OUT.format(currency=currency.upper()), code="nothing_to_pay_out")
    try:
        payout = gateway_payouts.payout_create(
            account=account, amount=available, currency=currency, seller_id=seller_id, form_token=form_token
        )
    except PaymentProviderNoAnswer as exc:
        cache.set(unanswered, {"amount": available, "form_token": form_token}, timeout=STRIPE_KEEPS_KEYS)
        raise PaymentProviderNoAnswer(PAYOUT_ANSWER_LOST) from exc
    row = payout_record(payout=payout, account=account, seen_at=payout.created)
    cache.set(made_by_form, row.pk, timeout=86_400)
    balance_reread(account=account)
    return row


def _payout_resend(*, account: str, seller_id: int, currency: str, key: str) -> Payout | None:
    """A payout whose answer was lost (remembered under `key`) is sent again as it was, with its key,
    before anything else: made, Stripe answers it again and it is recorded now; not made, it is made
    now (the seller pressed again), or Stripe refuses it (the balance changed since) and the press goes
    on as a new one. Without this the next press, with a new form's key and the balance the lost payout
    had emptied, said "Nothing is available to pay out" while the money was on its way."""
    pending = cache.get(key)
    if not isinstance(pending, dict):
        return None
    try:
        payout = gateway_payouts.payout_create(
            account=account,
            amount=int(pending["amount"]),
            currency=currency,
            seller_id=seller_id,
            form_token=str(pending["form_token"]),
        )
    except InvalidInput:
        cache.delete(key)
        return None
    except PaymentProviderNoAnswer as exc:
        raise PaymentProviderNoAnswer(PAYOUT_ANSWER_LOST) from exc
    cache.delete(key)
    row = payout_record(payout=payout, account=account, seen_at=payout.created)
    balance_reread(account=account)
    return row
