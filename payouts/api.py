"""`/api/v1/seller/balance`, `/api/v1/seller/payouts` and `/api/v1/seller/payouts/{id}`: the
signed-in seller's own money. Another shop's payout is a 404, like one that does not exist; a
Stripe outage answers the last balance read with `stale` and a message, never a 5xx.

A shop without its Stripe account yet has no money at Stripe: an empty balance whose message says
so and what to do, no payouts (an empty page, as its orders), and no payout of any id. It answered
404 `stripe_account_not_found` here and an empty page from its orders, two answers to one
situation, and a 404 that a client reads as a wrong address."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from marketplace.errors import NotFound
from marketplace.schemas import Page, errors, paged
from payouts import selectors
from payouts.failures import failure_sentence
from payouts.models import Payout, PayoutStatus
from payouts.schemas import AmountOut, BalanceOut, PayoutDetailOut, PayoutLineOut, PayoutOut, PayoutPageOut
from payouts.selectors import BalanceView
from sellers.models import Seller
from sellers.selectors import seller_for_user

router = Router(tags=["seller money"])
NO_ACCOUNT_SENTENCE = (
    "Your shop has no Stripe account yet, so it has no balance: set up payments with Stripe "
    "(POST /api/v1/seller/onboarding-link) to take payments and receive payouts."
)


def _account(request: HttpRequest) -> tuple[Seller, str | None]:
    """The seller of the session (404 `seller_not_found` without a shop) and its Stripe account, None
    while the shop has none."""
    seller = seller_for_user(user=request.user)
    return seller, seller.stripe_account_id or None


def payout_out(payout: Payout) -> PayoutOut:
    return PayoutOut(
        id=payout.pk,
        stripe_id=payout.stripe_id,
        amount=payout.amount,
        currency=payout.currency,
        status=payout.status,
        automatic=payout.automatic,
        arrival_date=payout.arrival_date,
        created_at=payout.created_at,
        failure_code=payout.failure_code,
        failure_sentence=failure_sentence(payout.failure_code) if payout.status == PayoutStatus.FAILED else "",
    )


@router.get("/seller/balance", response={200: BalanceOut, **errors(404)}, url_name="seller_balance")
def balance(request: HttpRequest) -> BalanceOut:
    """The shop's Stripe balance, available and pending per currency. Stripe unreachable: the last one
    read, `stale` and a `message` saying when; a shop without its Stripe account yet: none, and a
    `message` saying to set up payments. 404 `seller_not_found`: the user has no shop."""
    _, account = _account(request)
    view = selectors.seller_balance(account=account) if account else BalanceView(sentence=NO_ACCOUNT_SENTENCE)
    return BalanceOut(
        available=[AmountOut(amount=a.amount, currency=a.currency) for a in view.available],
        pending=[AmountOut(amount=a.amount, currency=a.currency) for a in view.pending],
        as_of=view.as_of,
        stale=view.stale,
        message=view.sentence,
    )


@router.get("/seller/payouts", response={200: PayoutPageOut, **errors(404)}, url_name="seller_payouts")
def payouts(request: HttpRequest, page: Page = 1) -> PayoutPageOut:
    """The shop's payouts, newest first, 100 a page (past the last, no items; none while the shop has
    no Stripe account)."""
    _, account = _account(request)
    rows = selectors.payouts_for_account(account=account) if account else Payout.objects.none()
    return PayoutPageOut(**paged(rows, page, payout_out))


@router.get("/seller/payouts/{payout_id}", response={200: PayoutDetailOut, **errors(404)}, url_name="seller_payout")
def payout(request: HttpRequest, payout_id: int) -> PayoutDetailOut:
    seller, account = _account(request)
    found = selectors.payout_for_account(account=account, payout_id=payout_id) if account else None
    if found is None:
        raise NotFound("No such payout.", code="payout_not_found")
    contents = selectors.payout_contents(payout=found, seller_id=seller.pk)
    return PayoutDetailOut(
        **payout_out(found).model_dump(),
        lines=[PayoutLineOut(**vars(line)) for line in contents.lines],
        lines_message=contents.sentence,
    )
