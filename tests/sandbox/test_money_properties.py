"""Money invariants under arbitrary amounts, fees and refund sequences (hypothesis), and under concurrency."""

from __future__ import annotations

import threading

import stripe
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stripe_sandbox import Sandbox
from stripe_sandbox.money import processing_fee, proportional

from .helpers import RETURN_URL, balances, control, destination_session, onboarded_account


@given(amount=st.integers(1, 10**9), currency=st.sampled_from(["usd", "jpy", "eur", "gbp", "xyz"]))
def test_processing_fee_is_integral_and_monotonic(amount: int, currency: str) -> None:
    fee = processing_fee(amount, currency)
    assert isinstance(fee, int) and fee >= 0
    assert processing_fee(amount + 1, currency) >= fee


@given(total=st.integers(1, 10**7), parts=st.lists(st.integers(1, 10**6), min_size=1, max_size=6))
def test_proportional_shares_never_exceed_the_whole(total: int, parts: list[int]) -> None:
    of = sum(parts)
    shares = [proportional(p, of, total) for p in parts]
    assert all(0 <= s <= total for s in shares)
    assert abs(sum(shares) - total) <= len(parts)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amount=st.integers(100, 500_000),
    fee_pct=st.integers(0, 100),
    refunds=st.lists(st.integers(1, 100), max_size=4),
    currency=st.sampled_from(["usd", "jpy"]),
)
@example(amount=1000, fee_pct=0, refunds=[50, 100], currency="usd")  # no application fee at all
@example(amount=1450, fee_pct=86, refunds=[23, 76, 66, 98], currency="usd")  # the last refund 1 cent short
@example(amount=652, fee_pct=87, refunds=[29, 97, 97, 21], currency="jpy")  # the third refund ¥1 short
def test_money_is_conserved_across_refunds(
    sandbox_server: Sandbox, amount: int, fee_pct: int, refunds: list[int], currency: str
) -> None:
    """Platform + seller + Stripe's fees + what went back to the buyer always equals what the buyer paid."""
    sb = sandbox_server
    sb.reset()
    client = stripe.StripeClient("sk_test_prop", base_addresses={"api": sb.url}, max_network_retries=0)
    seller = onboarded_account(client, sb)
    app_fee = amount * fee_pct // 100
    session = destination_session(client, seller, amount, app_fee, currency)
    pi = control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")["payment_intent"]
    charge = client.v1.charges.retrieve(client.v1.payment_intents.retrieve(pi).latest_charge)
    refunded = 0
    for pct in refunds:
        part = max(1, (amount - refunded) * pct // 100)
        if refunded + part > amount:
            break
        # Stripe refuses refund_application_fee on a charge without a fee (a 0 % or rounded-away fee here).
        fee_flag = bool(charge.application_fee)
        try:
            client.v1.refunds.create(
                params={
                    "charge": charge.id,
                    "amount": part,
                    "reverse_transfer": True,
                    "refund_application_fee": fee_flag,
                }
            )
        except stripe.InvalidRequestError as exc:
            # Each refund's reversal and fee refund are rounded apart (half up), so after several partial
            # refunds the seller may hold up to a minor unit a refund less than the next one's net share:
            # Stripe refuses it then (balance_insufficient), and nothing moves (the sums below still hold).
            held, net_share = sum(balances(client, seller, currency)), (amount - app_fee) * part / amount
            assert exc.code == "balance_insufficient" and 0 <= held < net_share + len(refunds), (exc, held)
            break
        refunded += part
    stripe_fee = processing_fee(amount, currency)
    platform = sum(balances(client, None, currency))
    seller_total = sum(balances(client, seller, currency))
    assert platform + seller_total + stripe_fee + refunded == amount
    transfer = client.v1.transfers.retrieve(charge.transfer)
    fee = client.v1.application_fees.retrieve(charge.application_fee) if charge.application_fee else None
    assert 0 <= transfer.amount_reversed <= transfer.amount
    if refunded == amount:
        assert transfer.reversed and seller_total == 0
        assert fee is None or fee.refunded


def test_concurrent_refunds_never_exceed_the_charge(client: stripe.StripeClient, sb: Sandbox) -> None:
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1_000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "return_url": RETURN_URL,
        }
    )
    ok: list[str] = []
    refused: list[str] = []

    def refund() -> None:
        try:
            ok.append(client.v1.refunds.create(params={"charge": pi.latest_charge, "amount": 300}).id)
        except stripe.InvalidRequestError as exc:
            refused.append(str(exc.user_message))

    threads = [threading.Thread(target=refund) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 3 and len(refused) == 5
    assert client.v1.charges.retrieve(pi.latest_charge).amount_refunded == 900
