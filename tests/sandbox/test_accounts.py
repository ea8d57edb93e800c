"""Express accounts: initial requirements, account links (single use, expiring), onboarding, login links."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import control, fetch_no_redirect, get_json, onboarded_account


def _new(client: stripe.StripeClient) -> stripe.Account:
    return client.v1.accounts.create(
        params={
            "type": "express",
            "country": "US",
            "email": "seller@example.com",
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
            "business_profile": {"name": "Mugs & Co"},
            "metadata": {"seller": "7"},
        }
    )


def _link(client: stripe.StripeClient, account: str) -> stripe.AccountLink:
    return client.v1.account_links.create(
        params={
            "account": account,
            "type": "account_onboarding",
            "refresh_url": "http://app/refresh",
            "return_url": "http://app/return",
        }
    )


def test_new_express_account_needs_everything(client: stripe.StripeClient) -> None:
    acct = _new(client)
    assert acct.id.startswith("acct_") and acct.type == "express"
    assert (acct.details_submitted, acct.charges_enabled, acct.payouts_enabled) == (False, False, False)
    assert acct.requirements.disabled_reason == "requirements.past_due"
    for code in (
        "business_type",
        "external_account",
        "individual.dob.day",
        "individual.first_name",
        "tos_acceptance.date",
        "tos_acceptance.ip",
    ):
        assert code in acct.requirements.currently_due
    assert acct.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert acct.business_profile.name == "Mugs & Co" and acct.metadata["seller"] == "7"
    assert client.v1.accounts.list().data[0].id == acct.id
    updated = client.v1.accounts.update(acct.id, params={"metadata": {"tier": "gold"}})
    assert updated.metadata.to_dict() == {"seller": "7", "tier": "gold"}


def test_hosted_onboarding_completes_and_redirects(client: stripe.StripeClient, sb: Sandbox) -> None:
    acct = _new(client)
    link = _link(client, acct.id)
    assert link.expires_at == link.created + 300
    status, _, page = fetch_no_redirect(link.url)
    assert status == 200 and "Agree and submit" in page
    status, location, _ = fetch_no_redirect(link.url, data=b"legal_name=Jenny")
    assert (status, location) == (303, "http://app/return")
    acct = client.v1.accounts.retrieve(acct.id)
    assert (acct.details_submitted, acct.charges_enabled, acct.payouts_enabled) == (True, True, True)
    assert acct.requirements.currently_due == [] and acct.requirements.disabled_reason is None
    assert acct.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    # Single use: the same link now sends the person to refresh_url.
    assert fetch_no_redirect(link.url)[:2] == (303, "http://app/refresh")
    events = client.v1.events.list(params={"type": "account.updated"}, options={"stripe_account": acct.id}).data
    assert events[0].account == acct.id
    assert events[0].data.previous_attributes["charges_enabled"] is False
    caps = client.v1.events.list(params={"type": "capability.updated"}, options={"stripe_account": acct.id}).data
    assert {e.data.object.id for e in caps} == {"card_payments", "transfers"}


def test_leaving_requirements_due(client: stripe.StripeClient, sb: Sandbox) -> None:
    acct = _new(client)
    link = _link(client, acct.id)
    out = control(sb, f"account_links/{link.url.rsplit('/', 1)[-1]}/complete", requirements_due="true")
    assert out["redirect_url"] == "http://app/return"
    acct = client.v1.accounts.retrieve(acct.id)
    assert acct.details_submitted and not acct.charges_enabled
    assert "individual.verification.document" in acct.requirements.currently_due


def test_expired_link_redirects_to_refresh(client: stripe.StripeClient, sb: Sandbox) -> None:
    acct = _new(client)
    link = _link(client, acct.id)
    control(sb, "clock/advance", seconds=301)
    assert fetch_no_redirect(link.url)[:2] == (303, "http://app/refresh")


def test_requirements_control_and_login_link(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    control(
        sb,
        f"accounts/{seller}/requirements",
        currently_due="individual.id_number",
        disabled_reason="requirements.past_due",
        current_deadline="1900000000",
    )
    acct = client.v1.accounts.retrieve(seller)
    assert acct.requirements.currently_due == ["individual.id_number"]
    assert acct.requirements.current_deadline == 1900000000
    assert not acct.payouts_enabled and not acct.charges_enabled
    login = client.v1.accounts.login_links.create(seller)
    assert login.object == "login_link"
    status, _, page = fetch_no_redirect(login.url)
    assert status == 200 and "Express dashboard" in page and "Available" in page
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.login_links.create(_new(client).id)


def test_delete_account_deauthorizes(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    deleted = client.v1.accounts.delete(seller)
    assert deleted.deleted is True
    with pytest.raises(stripe.PermissionError):
        client.v1.balance.retrieve(options={"stripe_account": seller})
    assert get_json(sb, "/_sandbox/clock")["now"] > 0


def test_deadline_passing_disables_the_account(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    now = get_json(sb, "/_sandbox/clock")["now"]
    control(sb, f"accounts/{seller}/requirements", currently_due="individual.id_number", current_deadline=now + 3600)
    acct = client.v1.accounts.retrieve(seller)
    assert acct.charges_enabled and acct.requirements.past_due == []
    control(sb, "clock/advance", seconds=3601)
    acct = client.v1.accounts.retrieve(seller)
    assert not acct.charges_enabled and not acct.payouts_enabled
    assert acct.requirements.past_due == ["individual.id_number"]
    assert acct.requirements.disabled_reason == "requirements.past_due"


def test_account_update_links_are_refused_for_express_accounts_even_once_onboarded(
    client: stripe.StripeClient, sb: Sandbox
) -> None:
    """Stripe creates `account_update` links only where the platform collects requirements."""
    account_id = onboarded_account(client, sb)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.account_links.create(
            params={
                "account": account_id,
                "type": "account_update",
                "refresh_url": "http://app/refresh",
                "return_url": "http://app/return",
            }
        )
    assert refused.value.param == "type"
    assert "Stripe-hosted Dashboard" in str(refused.value.user_message)


@pytest.mark.parametrize(
    ("country", "asks_ssn", "asks_state"), [("US", True, True), ("FR", False, False), ("JP", False, False)]
)
def test_a_new_account_is_asked_only_what_its_country_asks(
    client: stripe.StripeClient, country: str, asks_ssn: bool, asks_state: bool
) -> None:
    acct = client.v1.accounts.create(params={"type": "express", "country": country})
    due = acct.requirements.currently_due
    assert ("individual.ssn_last_4" in due, "individual.address.state" in due) == (asks_ssn, asks_state)
    assert "individual.first_name" in due and "external_account" in due
