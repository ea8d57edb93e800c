"""What the seller is told, for every state: the headline, the sentence and the next step.

Two layers, one test per state in each: `status_message` (pure: Stripe's account fields in, words
out), then the seller's home page for a seller brought into that state the real way (the app's own
services, and the sandbox's control API playing the person on Stripe's side), where the next step
must be there and must work; the console's seller page shows the admin the same words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils.html import escape

from sellers.models import Seller
from sellers.services import seller_mark_disconnected, seller_pause, seller_refresh_from_stripe
from sellers.status import PAST_DUE, Situation, StripeState, status_message
from stripe_sandbox.resources.accounts import INITIAL_REQUIREMENTS, LEFT_DUE
from tests.factories import UserFactory, make_platform_admin
from tests.sellers.conftest import complete_onboarding, set_requirements, signed_in_client, start_selling
from tests.sellers.test_status_and_requirements import DEADLINE
from tests.sellers.test_status_and_requirements import state as onboarded_state

ENABLED_AT = datetime(2029, 6, 1, tzinfo=UTC)
ID_DOCUMENT = ["individual.verification.document"]


def state(**kw: Any) -> StripeState:
    """An onboarded account Stripe enabled once, with nothing due; each case changes what its state needs."""
    return onboarded_state(**{"charges_first_enabled_at": ENABLED_AT, "shop_name": "Kiln & Co", **kw})


NEVER_ENABLED = {"charges_enabled": False, "payouts_enabled": False, "charges_first_enabled_at": None}
DISABLED = {"charges_enabled": False, "payouts_enabled": False}


@dataclass(frozen=True)
class Case:
    situation: Situation
    state: StripeState
    headline: str
    says: tuple[str, ...]  # fragments of the sentence
    step: tuple[str, str]  # (kind, label) of the next step
    listings: str


CASES = [
    Case(
        Situation.NEW,
        state(stripe_account_id=None, details_submitted=False, **NEVER_ENABLED),
        "Set up payments to start selling",
        ("Your shop is created, but it can't take payments yet.", "It takes about five minutes."),
        ("onboarding", "Set up payments with Stripe"),
        "Your listings are hidden from buyers until your shop can take payments.",
    ),
    Case(
        Situation.ONBOARDING,
        state(
            details_submitted=False,
            requirements={"currently_due": INITIAL_REQUIREMENTS, "past_due": INITIAL_REQUIREMENTS},
            disabled_reason=PAST_DUE,
            **NEVER_ENABLED,
        ),
        "Finish setting up payments",
        ("haven't submitted the form yet", "Continue where you left off"),
        ("onboarding", "Continue onboarding"),
        "Your listings are hidden from buyers until your shop can take payments.",
    ),
    Case(
        Situation.LATER,
        state(
            requirements={"currently_due": LEFT_DUE, "past_due": LEFT_DUE},
            disabled_reason=PAST_DUE,
            **NEVER_ENABLED,
        ),
        "Stripe needs a few more details",
        ("You've submitted the form", "before your shop can take payments", "Nothing is late"),
        ("onboarding", "Provide the missing details"),
        "Your listings are hidden from buyers until your shop can take payments.",
    ),
    Case(
        Situation.ACTION_DEADLINE,
        state(requirements={"currently_due": ID_DOCUMENT, "past_due": []}, current_deadline=DEADLINE),
        "Stripe needs more information by 15 January 2030",
        (
            "Your shop can take payments and receive payouts for now.",
            "by 15 January 2030, 00:00 UTC, or Stripe will pause payments and payouts",
        ),
        ("onboarding", "Provide the information"),
        "Your published listings are visible to buyers.",
    ),
    Case(
        Situation.ACTION_NO_DEADLINE,
        state(requirements={"currently_due": ID_DOCUMENT, "past_due": []}),
        "Stripe needs more information",
        ("for now.", "Stripe hasn't set a deadline, but provide the information below soon"),
        ("onboarding", "Provide the information"),
        "Your published listings are visible to buyers.",
    ),
    Case(
        Situation.RESTRICTED,
        state(
            requirements={"currently_due": ID_DOCUMENT, "past_due": ID_DOCUMENT},
            disabled_reason=PAST_DUE,
            **DISABLED,
        ),
        "Payments and payouts are paused",
        ("Stripe needs the information below before it re-enables payments and payouts on your account.",),
        ("onboarding", "Provide the information"),
        "Your listings are hidden from buyers until your shop can take payments.",
    ),
    Case(
        Situation.RESTRICTED,
        state(disabled_reason="listed", **DISABLED),
        "Payments and payouts are paused",
        ("Stripe is checking whether your account matches a list of people or companies it can't work with.",),
        ("dashboard", "Open Stripe Express dashboard"),
        "Your listings are hidden from buyers until your shop can take payments.",
    ),
    Case(
        Situation.RESTRICTED,
        state(disabled_reason="other", payouts_enabled=False),
        "Payouts are paused",
        ("for a reason it explains in your Stripe Express dashboard",),
        ("dashboard", "Open Stripe Express dashboard"),
        "Your published listings are visible to buyers.",
    ),
    Case(
        Situation.PENDING_VERIFICATION,
        state(disabled_reason="requirements.pending_verification", **NEVER_ENABLED),
        "Stripe is checking your details",
        ("You've sent everything Stripe asked for.", "Your shop can take payments once it is done."),
        ("new_listing", "Add your listings meanwhile"),
        "Your listings are hidden from buyers until your shop can take payments.",
    ),
    Case(
        Situation.PENDING_VERIFICATION,
        state(disabled_reason="under_review", **DISABLED),
        "Stripe is reviewing your account",
        ("will contact you by email if it needs anything",),
        ("new_listing", "Add your listings meanwhile"),
        "Your listings are hidden from buyers until your shop can take payments.",
    ),
    Case(
        Situation.ACTIVE,
        state(),
        "Your shop is ready to sell",
        ("Your shop can take payments and receive payouts.",),
        ("new_listing", "Add a listing"),
        "Your published listings are visible to buyers.",
    ),
    Case(
        Situation.PAUSED,
        state(paused_at=ENABLED_AT, pause_reason="Chargebacks under review"),
        "The marketplace has paused your shop",
        ("buyers can't see your listings or order from you", "not Stripe's", "contact support"),
        ("support", "Contact support"),
        "Your listings are hidden from buyers because the marketplace paused your shop.",
    ),
    Case(
        Situation.REJECTED,
        state(disabled_reason="rejected.fraud", **DISABLED),
        "Stripe has closed your account",
        ("suspects fraud or illegal activity.", "If you think this is a mistake, contact support."),
        ("support", "Contact support"),
        "Your listings are hidden from buyers because your account was closed.",
    ),
    Case(
        Situation.REJECTED,
        state(disabled_reason="rejected.platform_terms_of_service", **DISABLED),
        "The marketplace has closed your account",
        ("The marketplace closed your account for a breach of its terms.",),
        ("support", "Contact support"),
        "Your listings are hidden from buyers because your account was closed.",
    ),
    Case(
        Situation.DISCONNECTED,
        state(disconnected_at=ENABLED_AT, **DISABLED),
        "Your Stripe account is disconnected",
        ("no longer has access to your Stripe account", "Contact support"),
        ("support", "Contact support"),
        "Your listings are hidden from buyers because your Stripe account is disconnected.",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.situation.value}-{c.state.disabled_reason or 'none'}" for c in CASES])
def test_status_message_for_every_state(case: Case) -> None:
    message = status_message(case.state)

    assert message.situation == case.situation
    assert message.headline == case.headline
    for fragment in case.says:
        assert fragment in message.sentence, (fragment, message.sentence)
    assert (message.next_step.kind, message.next_step.label) == case.step
    assert message.listings == case.listings
    # Never the old wrong words: nothing "overdue", and no shop hidden "until it can take payments"
    # when the platform paused or closed it.
    assert "overdue" not in message.sentence
    if case.situation in (Situation.PAUSED, Situation.REJECTED, Situation.DISCONNECTED):
        assert "until your shop can take payments" not in message.listings


def test_paused_message_carries_the_admins_reason_and_a_support_link_naming_the_shop() -> None:
    message = status_message(state(paused_at=ENABLED_AT, pause_reason="  Chargebacks under review "))

    assert message.reason == "Chargebacks under review"
    subject = "Kiln%20%26%20Co%3A%20my%20shop%20is%20paused"
    assert message.next_step.href == f"mailto:support@marketplace.example?subject={subject}"


def test_action_required_when_payments_are_already_off_does_not_say_for_now() -> None:
    message = status_message(
        state(
            requirements={"currently_due": ID_DOCUMENT, "past_due": []},
            current_deadline=DEADLINE,
            disabled_reason="requirements.pending_verification",
            **DISABLED,
        )
    )
    assert message.situation == Situation.ACTION_DEADLINE
    assert "for now" not in message.sentence
    assert message.sentence.startswith("Your shop can't take payments until you provide the information below.")


# --- The seller's home page, for a seller brought into each state the real way ---------------------------


def _sandbox_now(sandbox: Any) -> int:
    return int(requests.get(f"{sandbox.url}/_sandbox/clock", timeout=10).json()["now"])


def _onboarded(sandbox: Any, client: Client, *, later: bool = False, refresh: bool = True) -> Seller:
    complete_onboarding(sandbox, start_selling(client, shop="Kiln & Co"), requirements_due=later)
    seller = Seller.objects.get()
    return seller_refresh_from_stripe(seller=seller) if refresh else seller


def _requirements(sandbox: Any, seller: Seller, **params: Any) -> Seller:
    set_requirements(sandbox, str(seller.stripe_account_id), **params)
    return seller_refresh_from_stripe(seller=seller)


def new(sandbox: Any, client: Client, user: Any) -> Seller:
    # Start selling when Stripe could not be reached: the shop exists, its Stripe account not yet.
    return Seller.objects.create(user=user, shop_name="Kiln & Co", country="US", default_currency="usd")


def onboarding(sandbox: Any, client: Client, user: Any) -> Seller:
    start_selling(client, shop="Kiln & Co")  # then the person closed Stripe's form
    return seller_refresh_from_stripe(seller=Seller.objects.get())


def later(sandbox: Any, client: Client, user: Any) -> Seller:
    return _onboarded(sandbox, client, later=True)


def action_deadline(sandbox: Any, client: Client, user: Any) -> Seller:
    seller = _onboarded(sandbox, client)
    deadline = _sandbox_now(sandbox) + 5 * 86400
    return _requirements(sandbox, seller, currently_due=ID_DOCUMENT, past_due=[], current_deadline=deadline)


def action_no_deadline(sandbox: Any, client: Client, user: Any) -> Seller:
    return _requirements(sandbox, _onboarded(sandbox, client), currently_due=ID_DOCUMENT, past_due=[])


def restricted(sandbox: Any, client: Client, user: Any) -> Seller:
    seller = _onboarded(sandbox, client)
    return _requirements(sandbox, seller, currently_due=ID_DOCUMENT, past_due=ID_DOCUMENT, disabled_reason=PAST_DUE)


def restricted_listed(sandbox: Any, client: Client, user: Any) -> Seller:
    return _requirements(sandbox, _onboarded(sandbox, client), currently_due=[], disabled_reason="listed")


def pending_verification(sandbox: Any, client: Client, user: Any) -> Seller:
    seller = _onboarded(sandbox, client, refresh=False)
    return _requirements(sandbox, seller, currently_due=[], disabled_reason="requirements.pending_verification")


def active(sandbox: Any, client: Client, user: Any) -> Seller:
    return _onboarded(sandbox, client)


def paused(sandbox: Any, client: Client, user: Any) -> Seller:
    seller = _onboarded(sandbox, client)
    return seller_pause(seller=seller, actor=make_platform_admin(), reason="Chargebacks under review")


def rejected(sandbox: Any, client: Client, user: Any) -> Seller:
    return _requirements(sandbox, _onboarded(sandbox, client), currently_due=[], disabled_reason="rejected.fraud")


def disconnected(sandbox: Any, client: Client, user: Any) -> Seller:
    return seller_mark_disconnected(seller=_onboarded(sandbox, client))  # account.application.deauthorized


PAGE_CASES: list[tuple[Callable[..., Seller], str, str, str]] = [
    # (how the seller got there, badge, headline, next step label)
    (new, "Onboarding", "Set up payments to start selling", "Set up payments with Stripe"),
    (onboarding, "Onboarding", "Finish setting up payments", "Continue onboarding"),
    (later, "Onboarding", "Stripe needs a few more details", "Provide the missing details"),
    (action_deadline, "Action required", "Stripe needs more information by", "Provide the information"),
    (action_no_deadline, "Action required", "Stripe needs more information", "Provide the information"),
    (restricted, "Restricted", "Payments and payouts are paused", "Provide the information"),
    (restricted_listed, "Restricted", "Payments and payouts are paused", "Open Stripe Express dashboard"),
    (pending_verification, "Pending verification", "Stripe is checking your details", "Add your listings meanwhile"),
    (active, "Active", "Your shop is ready to sell", "Add a listing"),
    (paused, "Paused by the platform", "The marketplace has paused your shop", "Contact support"),
    (rejected, "Rejected", "Stripe has closed your account", "Contact support"),
    (disconnected, "Disconnected", "Your Stripe account is disconnected", "Contact support"),
]


def _first_action(page: str) -> tuple[str, str]:
    """(element, label) of the first control in the status card's actions."""
    block = page.split('data-testid="status-actions"', 1)[1]
    match = re.search(r"<(button|a)\b[^>]*>([^<]+)</(?:button|a)>", block)
    assert match, block[:500]
    return match.group(1), match.group(2).strip()


@pytest.mark.django_db
@pytest.mark.parametrize(("make", "badge", "headline", "step"), PAGE_CASES, ids=[c[0].__name__ for c in PAGE_CASES])
def test_seller_home_says_the_state_and_its_next_step_works(
    sandbox: Any, make: Callable[..., Seller], badge: str, headline: str, step: str
) -> None:
    user = UserFactory()
    client = signed_in_client(user)
    seller = make(sandbox, client, user)
    seller.refresh_from_db()
    message = status_message(seller)

    page = client.get("/sell/").content.decode()

    assert f'data-testid="seller-status">{badge}<' in page
    assert headline in page
    assert f'data-testid="status-explanation">{_escaped(message.sentence)}<' in page
    assert f'data-testid="listings-visibility">{_escaped(message.listings)}<' in page
    assert "overdue" not in page
    assert _first_action(page)[1] == step
    # The admin's console shows the same words the seller reads.
    console = signed_in_client(make_platform_admin()).get(f"/console/sellers/{seller.pk}/").content.decode()
    assert f'data-testid="seller-status-headline">{_escaped(message.headline)}<' in console
    assert f'data-testid="seller-status-sentence">{_escaped(message.sentence)}<' in console

    _next_step_works(sandbox, client, message.next_step.kind, page)


def _escaped(text: str) -> str:
    return str(escape(text))


def _next_step_works(sandbox: Any, client: Client, kind: str, page: str) -> None:
    if kind == "onboarding":
        response = client.post("/sell/onboarding/continue/")
        assert response.status_code == 302
        hosted = requests.get(response["Location"], timeout=10)
        assert hosted.status_code == 200 and "Set up your account" in hosted.text  # a fresh, working link
    elif kind == "dashboard":
        response = client.post("/sell/dashboard/")
        assert response.status_code == 302 and response["Location"].startswith(f"{sandbox.url}/hosted/express/")
    elif kind == "new_listing":
        assert 'href="/sell/listings/new/"' in page
        assert client.get("/sell/listings/new/").status_code == 200
    else:
        assert 'href="mailto:support@marketplace.example?subject=Kiln%20%26%20Co%3A%20' in page


@pytest.mark.django_db
def test_the_dashboard_step_sends_the_payout_schedule_to_the_money_page(sandbox: Any) -> None:
    """The platform sets an Express account's payout schedule (the money page's form): the home page
    sent the seller to look for it in the Express dashboard instead."""
    user = UserFactory()
    client = signed_in_client(user)
    active(sandbox, client, user)

    page = client.get("/sell/").content.decode()

    assert "Update your details and bank account in your Stripe Express dashboard." in page
    assert 'Choose when Stripe pays you out on your <a href="/sell/money/#schedule-title">Money page</a>.' in page
    assert "payout schedule in your Stripe Express dashboard" not in page


@pytest.mark.django_db
def test_paused_seller_reads_the_admins_reason_and_why_listings_are_hidden(sandbox: Any) -> None:
    user = UserFactory()
    client = signed_in_client(user)
    paused(sandbox, client, user)

    page = client.get("/sell/").content.decode()

    assert "Reason given by the marketplace: Chargebacks under review" in page
    assert "Your listings are hidden from buyers because the marketplace paused your shop." in page
    assert "until your shop can take payments" not in page


@pytest.mark.django_db
def test_a_deadline_that_passed_reads_was_due_not_zero_minutes_from_now(sandbox: Any) -> None:
    user = UserFactory()
    client = signed_in_client(user)
    seller = _onboarded(sandbox, client)
    passed = _sandbox_now(sandbox) - 86400
    due = {"currently_due": ID_DOCUMENT, "past_due": ID_DOCUMENT}
    _requirements(sandbox, seller, **due, disabled_reason=PAST_DUE, current_deadline=passed)

    page = client.get("/sell/").content.decode()

    assert f"Was due by {datetime.fromtimestamp(passed, tz=UTC):%-d %B %Y}" in page
    assert "from now" not in page
    assert "Payments and payouts are paused" in page


@pytest.mark.django_db
def test_seller_created_without_a_stripe_account_gets_one_from_the_next_step(sandbox: Any) -> None:
    user = UserFactory()
    client = signed_in_client(user)
    new(sandbox, client, user)

    client.post("/sell/onboarding/continue/")

    made = Seller.objects.get(user=user)
    assert made.stripe_account_id and made.stripe_account_id.startswith("acct_")
    page = client.get("/sell/").content.decode()
    assert "Finish setting up payments" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("country", "currency", "said"),
    [("JP", "jpy", "Japan · Currency: JPY"), ("US", "usd", "United States · Currency: USD")],
)
def test_the_shop_card_names_the_country_not_its_code(country: str, currency: str, said: str) -> None:
    """The seller's home said "Country: JP", the code the form never showed: the form offers "Japan"."""
    from tests.catalog.factories import SellerFactory
    from tests.orders.conftest import signed_in

    seller = SellerFactory(country=country, default_currency=currency)
    page = signed_in(seller.user).get("/sell/").content.decode()
    assert f"Country: {said}" in page
