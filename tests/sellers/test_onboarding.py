"""Start selling, the hosted onboarding round trip and the links, against the sandbox over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.core.cache import cache
from django.test import Client

from marketplace import gateway
from marketplace.errors import InvalidInput
from orders.selectors import open_refund_requests_cache_key
from sellers.models import Seller, SellerStatus
from sellers.services import seller_create
from tests.factories import UserFactory
from tests.sellers.conftest import complete_onboarding, set_requirements, signed_in_client, start_selling

pytestmark = pytest.mark.django_db


def _accounts_on_stripe() -> list[Any]:
    return list(gateway.client().v1.accounts.list().data)


def test_start_selling_creates_an_express_account_and_sends_to_onboarding(sandbox: Any, seller_client: Client) -> None:
    url = start_selling(seller_client, shop="Kyoto Paper", country="JP", currency="jpy")

    assert url.startswith(f"{sandbox.url}/hosted/onboarding/")
    seller = Seller.objects.get()
    account = gateway.client().v1.accounts.retrieve(seller.stripe_account_id)
    assert account.type == "express"
    assert account.country == "JP" and account.default_currency == "jpy"
    assert account.metadata["seller_id"] == str(seller.pk)
    assert set(account.capabilities.to_dict()) == {"card_payments", "transfers"}
    assert seller.status == SellerStatus.ONBOARDING


def test_double_submit_of_start_selling_makes_one_stripe_account(sandbox: Any, seller_client: Client) -> None:
    first = start_selling(seller_client)
    second = start_selling(seller_client)

    assert Seller.objects.count() == 1
    assert len(_accounts_on_stripe()) == 1
    assert first != second  # each submit gets its own fresh single-use link, to the same account


def test_currency_not_available_in_country_is_refused_with_a_message(sandbox: Any, seller_client: Client) -> None:
    response = seller_client.post("/sell/start/", {"shop_name": "X", "country": "JP", "default_currency": "usd"})

    assert response.status_code == 422
    assert "For this country, choose one of: JPY." in response.content.decode()
    assert not Seller.objects.exists() and _accounts_on_stripe() == []


@pytest.mark.parametrize("name", ["Rosen\r\nBcc: all@example.com", "Rosen\tCeramics", "Rosen\u2028Ceramics"])
def test_a_shop_name_on_more_than_one_line_is_refused(sandbox: Any, seller_client: Client, name: str) -> None:
    """The shop name goes into email subjects (every buyer's order confirmation): one with a line
    break made each of those emails fail to send (a header cannot hold one) and never arrive."""
    response = seller_client.post("/sell/start/", {"shop_name": name, "country": "US", "default_currency": "usd"})
    assert response.status_code == 422
    assert "Keep the shop name on one line, without tabs or other control characters." in response.content.decode()
    assert not Seller.objects.exists()
    with pytest.raises(InvalidInput):
        seller_create(user=UserFactory(), shop_name=name, country="US", default_currency="usd")


@pytest.mark.parametrize("name", ["Rosen \u202eCeramics", "\u2066Rosen\u2069"])
def test_a_shop_name_with_direction_controls_is_refused(sandbox: Any, seller_client: Client, name: str) -> None:
    """A right-to-left override in the shop's name turns backwards what follows it on the same line:
    the order's total beside it, the rest of every email subject naming the shop."""
    response = seller_client.post("/sell/start/", {"shop_name": name, "country": "US", "default_currency": "usd"})
    assert response.status_code == 422
    assert "Leave out the direction controls" in response.content.decode()
    assert not Seller.objects.exists()
    with pytest.raises(InvalidInput) as refused:
        seller_create(user=UserFactory(), shop_name=name, country="US", default_currency="usd")
    assert refused.value.code == "shop_name_direction_controls"


def test_return_url_shows_the_status_read_from_stripe_not_assumed(sandbox: Any, seller_client: Client) -> None:
    url = start_selling(seller_client)
    seller = Seller.objects.get()

    # Back without finishing (the person closed the form): still onboarding, whatever the URL says.
    page = seller_client.get(f"/sell/onboarding/{seller.pk}/return/", follow=True).content.decode()
    assert "Onboarding isn&#x27;t finished yet" in page
    assert 'data-testid="seller-status">Onboarding<' in page

    done = complete_onboarding(sandbox, url)
    assert done["redirect_url"].endswith(f"/sell/onboarding/{seller.pk}/return/")
    page = seller_client.get(f"/sell/onboarding/{seller.pk}/return/", follow=True).content.decode()
    assert 'data-testid="seller-status">Active<' in page
    assert "You&#x27;re all set" in page
    assert "Open Stripe Express dashboard" in page
    assert "Update your details and bank account in your Stripe Express dashboard" in page
    assert "Continue onboarding" not in page  # nothing due: details change in the Express dashboard
    seller.refresh_from_db()
    assert seller.charges_enabled and seller.payouts_enabled and seller.details_submitted
    assert seller.capabilities == {"card_payments": "active", "transfers": "active"}


def test_expired_link_goes_through_refresh_url_to_a_new_link(sandbox: Any, seller_client: Client) -> None:
    old = start_selling(seller_client)
    sandbox.advance(301)  # account links live five minutes

    hosted = requests.get(old, allow_redirects=False, timeout=10)
    assert hosted.status_code == 303
    refresh_path = hosted.headers["Location"].split("://", 1)[1].split("/", 1)[1]
    response = seller_client.get("/" + refresh_path)

    assert response.status_code == 302
    new = response["Location"]
    assert new.startswith(f"{sandbox.url}/hosted/onboarding/") and new != old
    assert requests.get(new, allow_redirects=False, timeout=10).status_code == 200  # the new one works
    complete_onboarding(sandbox, new)


def test_a_user_cannot_open_another_sellers_refresh_or_return_url(sandbox: Any, seller_client: Client) -> None:
    start_selling(seller_client)
    seller = Seller.objects.get()
    intruder = signed_in_client(UserFactory())

    assert intruder.get(f"/sell/onboarding/{seller.pk}/refresh/").status_code == 404
    assert intruder.get(f"/sell/onboarding/{seller.pk}/return/").status_code == 404
    anonymous = Client().get(f"/sell/onboarding/{seller.pk}/refresh/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_requirements_due_path_shows_sentences_deadline_and_continue_goes_to_a_fresh_link(
    sandbox: Any, seller_client: Client
) -> None:
    url = start_selling(seller_client)
    complete_onboarding(sandbox, url, requirements_due=True)
    seller = Seller.objects.get()
    page = seller_client.get(f"/sell/onboarding/{seller.pk}/return/", follow=True).content.decode()
    # "Later" on Stripe's form: never able to take payments yet, so still onboarding, nothing "overdue".
    assert 'data-testid="seller-status">Onboarding<' in page
    assert "Stripe needs a few more details" in page and "overdue" not in page
    assert "Provide your identity document" in page

    deadline = sandbox_now(sandbox) + 5 * 86400
    set_requirements(
        sandbox,
        seller.stripe_account_id,
        currently_due=["individual.dob.day", "individual.dob.month", "individual.dob.year", "external_account"],
        past_due=[],
        current_deadline=deadline,
    )
    page = seller_client.get(f"/sell/onboarding/{seller.pk}/return/", follow=True).content.decode()
    assert 'data-testid="seller-status">Action required<' in page
    assert "Stripe needs more information by" in page
    assert page.count("Provide your date of birth.") == 1
    assert "Add the bank account where you want to receive payouts." in page
    seller.refresh_from_db()
    assert seller.current_deadline is not None and int(seller.current_deadline.timestamp()) == deadline
    assert f"Due by {seller.current_deadline:%-d %B %Y}" in page

    response = seller_client.post("/sell/onboarding/continue/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{sandbox.url}/hosted/onboarding/") and response["Location"] != url


def test_dashboard_button_opens_a_login_link_once_onboarded(sandbox: Any, seller_client: Client) -> None:
    url = start_selling(seller_client)
    before = seller_client.post("/sell/dashboard/", follow=True).content.decode()
    assert "Finish onboarding with Stripe first." in before

    complete_onboarding(sandbox, url)
    seller_client.get(f"/sell/onboarding/{Seller.objects.get().pk}/return/")
    response = seller_client.post("/sell/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{sandbox.url}/hosted/express/")


def test_seller_home_query_count(sandbox: Any, seller_client: Client, django_assert_max_num_queries: Any) -> None:
    start_selling(seller_client)
    # Session, user, the seller, the unresolved failed payout (its banner) and the nav's count of open
    # refund requests, which the header then keeps in the cache until a request changes.
    seller = Seller.objects.get()
    cache.delete(open_refund_requests_cache_key(seller.pk))
    with django_assert_max_num_queries(5):
        response = seller_client.get("/sell/")
    assert "Continue onboarding" in response.content.decode()


def sandbox_now(sandbox: Any) -> int:
    return int(requests.get(f"{sandbox.url}/_sandbox/clock", timeout=10).json()["now"])


@pytest.mark.parametrize(
    "name",
    [
        "\u200b\u200b",
        " \u200b\u2060 ",
        "\u00a0\ufeff",
        "\u200e\u3000\u200f",
        "\u3164\u3164",  # Hangul fillers: letters to Unicode, blank on screen
        "\u115f\u1160\uffa0",
        "\u2800",  # the Braille blank
        "\u034f\ufe0f",  # a combining grapheme joiner and a variation selector: marks on nothing
    ],
)
def test_a_shop_name_nobody_can_see_is_refused_with_a_sentence(sandbox: Any, seller_client: Client, name: str) -> None:
    from marketplace.errors import InvalidInput
    from sellers.services import seller_create

    response = seller_client.post("/sell/start/", {"shop_name": name, "country": "US", "default_currency": "usd"})
    assert response.status_code == 422
    assert "Give your shop a name people can see" in response.content.decode()
    with pytest.raises(InvalidInput) as refused:
        seller_create(user=UserFactory(), shop_name=name, country="US", default_currency="usd")
    assert refused.value.code == "shop_name_invisible"
    assert not Seller.objects.exists() and _accounts_on_stripe() == []


def test_a_shop_name_with_invisible_characters_around_a_visible_one_is_kept(
    sandbox: Any, seller_client: Client
) -> None:
    start_selling(seller_client, shop="\u200bKiln\u200d")
    assert Seller.objects.get().shop_name == "\u200bKiln\u200d"


@pytest.mark.parametrize("name", ["Café", "한글 가게", "陶器", "✿", "e\u0301"])
def test_names_in_any_script_and_with_accents_are_visible(name: str) -> None:
    from sellers.services import shop_name_visible

    assert shop_name_visible(name)
