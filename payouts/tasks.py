"""Thin tasks of the seller's side of money."""

from __future__ import annotations

from celery import shared_task

from payouts.reconciliation import ReconciliationRunning, reconcile
from payouts.selectors import seller_balances_reread


@shared_task(name="payouts.reconcile_nightly")
def reconcile_nightly() -> int:
    """Beat, nightly: a full run (no `since`: a window would cut a payout from its later failure
    and report both halves as differences). Returns the count of differences; while another run
    (a manual one) is going, this one leaves it to finish and returns -1."""
    try:
        return reconcile().run.differences
    except ReconciliationRunning:
        return -1


@shared_task(name="payouts.reread_balances")
def reread_balances() -> int:
    """Beat: every seller's Stripe balance read again, for the console's negative balances
    (`seller_balances_reread`). Returns how many were read."""
    return seller_balances_reread()
