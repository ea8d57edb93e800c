"""Any order of card attempts on one Checkout Session, as on Stripe's page: a failed 3-D Secure step, then another
card (4242, a declined card, another 3-D Secure card passed or failed), until one succeeds.

Each order is driven twice: through the control API (what scripts use) and through the hosted page over HTTP
(what a browser does), where every answer must be a redirect or an HTML page, never JSON.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
import stripe

from stripe_sandbox import Sandbox
from stripe_sandbox.resources.payments import AUTH_FAILED, AUTH_FAILED_BUYER

from .helpers import control, destination_session, fetch_no_redirect, onboarded_account

VISA, DECLINED, THREE_DS = "4242424242424242", "4000000000000002", "4000002500003155"
SUCCESS = "http://app/success?session={CHECKOUT_SESSION_ID}"

# (what the buyer does, the outcome the page shows)
FAIL_3DS = [(("card", THREE_DS), "requires_action"), (("auth", "fail"), "declined")]
ORDERS = {
    "fail-3ds-then-visa": [*FAIL_3DS, (("card", VISA), "succeeded")],
    "fail-3ds-then-declined-then-visa": [
        *FAIL_3DS,
        (("card", DECLINED), "declined"),
        (("card", VISA), "succeeded"),
    ],
    "fail-3ds-then-3ds-passed": [
        *FAIL_3DS,
        (("card", THREE_DS), "requires_action"),
        (("auth", "complete"), "succeeded"),
    ],
    "fail-3ds-twice-then-visa": [*FAIL_3DS, *FAIL_3DS, (("card", VISA), "succeeded")],
}
# The PaymentIntent, Charge and Checkout events each step makes Stripe send, in order.
EVENTS = {
    ("card", THREE_DS): ["payment_intent.requires_action"],
    ("auth", "fail"): ["payment_intent.payment_failed"],
    ("card", DECLINED): ["charge.failed", "payment_intent.payment_failed"],
    ("card", VISA): ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"],
    ("auth", "complete"): ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"],
}
BUYER_MESSAGES = {("auth", "fail"): AUTH_FAILED_BUYER, ("card", DECLINED): "Your card was declined."}


def _via_control(sb: Sandbox, session: Any, step: tuple[str, str]) -> tuple[str, str | None, str | None]:
    kind, value = step
    if kind == "card":
        result = control(sb, f"checkout/sessions/{session.id}/pay", card=value)
    else:
        result = control(sb, f"checkout/sessions/{session.id}/authenticate", outcome=value)
    return result["status"], result["redirect_url"], result["error"]


def _via_hosted_page(sb: Sandbox, session: Any, step: tuple[str, str]) -> tuple[str, str | None, str | None]:
    """Submit the form a person sees; follow the sandbox's own redirects as a browser would."""
    kind, value = step
    if kind == "card":
        url, data = session.url, {"cardNumber": value, "email": "buyer@example.com"}
    else:
        url, data = f"{session.url}/authenticate", {"action": value}
    status, location, body = fetch_no_redirect(url, urlencode(data).encode())
    assert not body.lstrip().startswith("{"), body
    if status == 303 and location == session.url:  # failed authentication: back to the form, which says why
        status, location, body = fetch_no_redirect(location)
    if status == 303 and location and location.endswith("/authenticate"):
        page_status, _, page = fetch_no_redirect(location)
        assert page_status == 200 and "Complete" in page and "Fail" in page
        return "requires_action", location, None
    if status == 303:
        return "succeeded", location, None
    assert status == 200 and "<!doctype html>" in body
    alert = re.search(r'<p role="alert" id="error">([^<]*)</p>', body)
    assert f'action="{session.url}"' in body  # the next attempt goes to the session, whatever the URL was
    return "declined", None, alert.group(1).replace("&#x27;", "'") if alert else None


@pytest.mark.parametrize("via", [_via_control, _via_hosted_page], ids=["control-api", "hosted-page"])
@pytest.mark.parametrize("order", sorted(ORDERS))
def test_any_order_of_attempts_ends_in_one_paid_session(
    client: stripe.StripeClient, sb: Sandbox, order: str, via: Any
) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 4_000, 400, success_url=SUCCESS)
    steps = ORDERS[order]
    for step, expected in steps:
        outcome, redirect_url, error = via(sb, session, step)
        assert outcome == expected, (step, outcome, error)
        assert error == BUYER_MESSAGES.get(step)
        pi = client.v1.payment_intents.retrieve(client.v1.checkout.sessions.retrieve(session.id).payment_intent)
        if step == ("auth", "fail"):  # Stripe: back to requires_payment_method, ready for any other card
            assert (pi.status, pi.next_action) == ("requires_payment_method", None)
            assert pi.last_payment_error.code == "payment_intent_authentication_failure"
            assert pi.last_payment_error.message == AUTH_FAILED
            assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
        if expected == "succeeded":
            assert redirect_url == f"http://app/success?session={session.id}"

    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    pi = client.v1.payment_intents.retrieve(done.payment_intent)
    assert (pi.status, pi.amount_received, pi.last_payment_error) == ("succeeded", 4_000, None)
    charges = client.v1.charges.list(params={"payment_intent": pi.id}).data
    declines = sum(1 for step, _ in steps if step == ("card", DECLINED))
    assert sorted(c.status for c in charges) == ["failed"] * declines + ["succeeded"]
    seller_share = client.v1.transfers.retrieve(client.v1.charges.retrieve(pi.latest_charge).transfer)
    assert (seller_share.amount, seller_share.destination) == (4_000, seller)

    events = list(reversed(client.v1.events.list(params={"limit": 100}).data))
    flow = [e.type for e in events if e.type.split(".")[0] in ("payment_intent", "charge", "checkout")]
    # The first card entered makes the session's PaymentIntent; every later attempt reuses it.
    assert flow == ["payment_intent.created"] + [t for step, _ in steps for t in EVENTS[step]]
    completed = [e for e in events if e.type == "checkout.session.completed"]
    assert len(completed) == 1 and completed[0].data.object.payment_status == "paid"


def test_stale_and_repeated_3ds_pages_never_answer_json(client: stripe.StripeClient, sb: Sandbox) -> None:
    """Back, reload or a second tab on the 3-D Secure page, before and after the outcome."""
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 1_500, 150, success_url=SUCCESS)
    auth = f"{session.url}/authenticate"
    assert fetch_no_redirect(auth)[:2] == (303, session.url)  # nothing to authenticate yet
    fetch_no_redirect(session.url, urlencode({"cardNumber": THREE_DS}).encode())
    assert fetch_no_redirect(auth, b"action=fail")[:2] == (303, session.url)
    assert fetch_no_redirect(auth, b"action=complete")[:2] == (303, session.url)  # the old tab: no longer due
    status, _, page = fetch_no_redirect(session.url)
    assert status == 200 and AUTH_FAILED_BUYER.replace("'", "&#x27;") in page
    fetch_no_redirect(session.url, urlencode({"cardNumber": VISA}).encode())
    for url in (auth, session.url):
        status, location, page = fetch_no_redirect(url)
        assert (status, location) == (200, None) and "Payment complete" in page
    status, _, page = fetch_no_redirect(session.url, urlencode({"cardNumber": VISA}).encode())
    assert status == 200 and "Payment complete" in page  # a second Pay charges nothing
    pi_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    assert [c.status for c in client.v1.charges.list(params={"payment_intent": pi_id}).data] == ["succeeded"]


def test_unknown_hosted_objects_are_pages(sb: Sandbox) -> None:
    for url in (f"{sb.url}/hosted/checkout/cs_test_nope", f"{sb.url}/hosted/authenticate/pi_nope"):
        status, _, page = fetch_no_redirect(url)
        assert status == 404 and "<!doctype html>" in page and "not valid" in page


def test_an_unknown_card_number_is_refused_on_the_page(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 1_500, 150)
    status, location, page = fetch_no_redirect(session.url, b"cardNumber=1234&email=b%40example.com")
    assert (status, location) == (200, None) and "Your card number is invalid." in page
    assert 'value="b@example.com"' in page and client.v1.checkout.sessions.retrieve(session.id).status == "open"


@pytest.mark.parametrize(
    ("cancel_url", "pay", "back"),
    [
        ("http://shop.test/cart", True, "http://app/success?session={id}"),
        ("http://shop.test/cart", False, "http://shop.test/cart"),
        (None, False, "http://app/"),
    ],
    ids=["complete", "expired", "expired-without-cancel-url"],
)
def test_a_closed_session_says_so_and_links_back_to_the_merchant(
    client: stripe.StripeClient, sb: Sandbox, cancel_url: str | None, pay: bool, back: str
) -> None:
    seller = onboarded_account(client, sb)
    extra = {"cancel_url": cancel_url} if cancel_url else {}
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": SUCCESS,
            "line_items": [
                {"price_data": {"currency": "jpy", "unit_amount": 1200, "product_data": {"name": "Tea"}}, "quantity": 1}
            ],
            "payment_intent_data": {"application_fee_amount": 120, "transfer_data": {"destination": seller}},
            **extra,
        }
    )
    if pay:
        control(sb, f"checkout/sessions/{session.id}/pay", card=VISA)
    else:
        client.v1.checkout.sessions.expire(session.id)
    for url in (session.url, f"{session.url}/authenticate"):
        status, _, page = fetch_no_redirect(url)
        assert status == (200 if pay else 410)
        assert ("Payment complete" if pay else "This checkout session has expired") in page
        assert ("¥1,200 has been received" in page) is pay
        assert f'<a id="back" href="{back.format(id=session.id)}">' in page
