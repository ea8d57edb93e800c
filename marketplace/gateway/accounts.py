"""Connect Express accounts: create, read, account links and Express dashboard login links.

Accounts come back as `gateway.types.Account` (its requirements a typed sub-object), links as
`AccountLink` and `LoginLink`, so the sellers app never touches the SDK's types nor picks dicts apart.
"""

from __future__ import annotations

import uuid
from typing import Any

import stripe

from marketplace import gateway
from marketplace.errors import DomainError
from marketplace.gateway.types import Account, AccountLink, LoginLink, PayoutSchedule


class AccountAccessRevoked(DomainError):
    """Stripe refused access to a connected account: the seller deauthorized the platform or the
    account was deleted. The caller marks the seller disconnected instead of retrying."""

    status = 410
    code = "account_disconnected"


def _call(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    try:
        return gateway.call(fn, *args, **kwargs)
    except DomainError as exc:
        if isinstance(exc.__cause__, stripe.PermissionError | stripe.AuthenticationError) and (
            getattr(exc.__cause__, "code", None) == "account_invalid"
        ):
            raise AccountAccessRevoked("The Stripe account is no longer connected to the platform.") from exc
        raise


def account_create_express(
    *, seller_id: int, country: str, default_currency: str, email: str | None, business_name: str | None
) -> Account:
    """Create the seller's Express account with the capabilities a marketplace seller needs.

    The idempotency key is the seller's id and the parameters, so a double click (or a retry after a
    timeout) returns the account created the first time instead of a second one; the seller id also goes into
    metadata so an account found on Stripe's side can always be traced back to its row.
    """
    params: dict[str, Any] = {
        "type": "express",
        "country": country.upper(),
        "default_currency": default_currency.lower(),
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        "metadata": {"seller_id": str(seller_id)},
    }
    if email:
        params["email"] = email
    if business_name:
        params["business_profile"] = {"name": business_name}
    key = gateway.idempotency_key("seller-account-create", seller_id, params=params)
    options = gateway.request_options(idempotency_key=key)
    return Account.from_stripe(_call(gateway.client().v1.accounts.create, params=params, options=options))


def account_retrieve(account_id: str) -> Account:
    """The account as Stripe sees it now (raises AccountAccessRevoked once the seller disconnected:
    Stripe answers 403 `account_invalid`, or 404 for an account deleted outright)."""
    try:
        return Account.from_stripe(_call(gateway.client().v1.accounts.retrieve, account_id))
    except DomainError as exc:
        if exc.code == "resource_missing":
            raise AccountAccessRevoked("The Stripe account no longer exists.") from exc
        raise


def account_link_create(*, account_id: str, link_type: str, refresh_url: str, return_url: str) -> AccountLink:
    """A fresh hosted onboarding (or update) link.

    Links are single-use and expire within minutes, so every call must make a new one: the
    idempotency key carries a fresh uuid and only protects the SDK's own network retries of this
    one request, never returning an earlier (maybe used) link.
    """
    if link_type not in ("account_onboarding", "account_update"):
        raise ValueError(f"unknown account link type {link_type!r}")
    params: dict[str, Any] = {
        "account": account_id,
        "type": link_type,
        "refresh_url": refresh_url,
        "return_url": return_url,
        "collection_options": {"fields": "currently_due"},
    }
    key = gateway.idempotency_key("account-link", account_id, uuid.uuid4().hex, params=params)
    link = _call(
        gateway.client().v1.account_links.create, params=params, options=gateway.request_options(idempotency_key=key)
    )
    return AccountLink.from_stripe(link)


def login_link_create(*, account_id: str) -> str:
    """A one-time URL into the seller's Express dashboard (Stripe only makes them for Express
    accounts that finished onboarding). Fresh each time, like account links."""
    key = gateway.idempotency_key("login-link", account_id, uuid.uuid4().hex)
    link = _call(
        gateway.client().v1.accounts.login_links.create,
        account_id,
        options=gateway.request_options(idempotency_key=key),
    )
    return LoginLink.from_stripe(link).url


def account_payout_schedule_update(
    *, account_id: str, seller_id: int, schedule: PayoutSchedule, form_token: str
) -> Account:
    """Set when Stripe pays the seller out. Express accounts cannot change it themselves: the
    platform sets it on the seller's behalf.

    The key is the seller, the schedule asked for and the token of the form it came from: a double
    submit of one form changes it once, while a later form asking for a schedule the seller had
    before (A, then B, then A again within Stripe's 24 hours of keys) is a new request and is
    applied, where a key of the parameters alone would get the first answer back and change nothing."""
    wanted: dict[str, Any] = {"interval": schedule.interval}
    if schedule.interval == "weekly":
        wanted["weekly_anchor"] = schedule.weekly_anchor
    if schedule.interval == "monthly":
        wanted["monthly_anchor"] = schedule.monthly_anchor
    params: dict[str, Any] = {"settings": {"payouts": {"schedule": wanted}}}
    key = gateway.idempotency_key("payout-schedule", seller_id, account_id, form_token, params=params)
    return Account.from_stripe(
        _call(
            gateway.client().v1.accounts.update,
            account_id,
            params=params,
            options=gateway.request_options(idempotency_key=key),
        )
    )
