"""Connected accounts (Express), account links, login links and the onboarding state machine."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from ..core import Core, Ctx, Route, diff
from ..errors import StripeError, invalid
from ..store import PLATFORM, Obj, new_id, template

# What Stripe asks a new US Express individual for before charges and payouts are enabled.
INITIAL_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "individual.address.city",
    "individual.address.line1",
    "individual.address.postal_code",
    "individual.address.state",
    "individual.dob.day",
    "individual.dob.month",
    "individual.dob.year",
    "individual.email",
    "individual.first_name",
    "individual.last_name",
    "individual.phone",
    "individual.ssn_last_4",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
# The fields of that list only some countries ask for: the SSN is American; a state (or province) is part of
# an address in the United States, Canada and Australia only.
_US_ONLY = {"individual.ssn_last_4"}
_STATE_COUNTRIES = {"US", "CA", "AU"}


def initial_requirements(country: str) -> list[str]:
    """What a new Express individual of `country` is asked for: the US list without the fields foreign to it."""
    foreign = set() if country == "US" else set(_US_ONLY)
    if country not in _STATE_COUNTRIES:
        foreign.add("individual.address.state")
    return [code for code in INITIAL_REQUIREMENTS if code not in foreign]


# What stays due when the person leaves onboarding with verification outstanding.
LEFT_DUE = ["individual.id_number", "individual.verification.document"]
# Stripe's values of `requirements.disabled_reason` (Account object; the `rejected.platform_*` ones since
# 2024-11-20.acacia).
DISABLED_REASONS = [
    "action_required.requested_capabilities",
    "listed",
    "other",
    "platform_paused",
    "rejected.fraud",
    "rejected.incomplete_verification",
    "rejected.listed",
    "rejected.other",
    "rejected.platform_fraud",
    "rejected.platform_other",
    "rejected.platform_terms_of_service",
    "rejected.terms_of_service",
    "requirements.past_due",
    "requirements.pending_verification",
    "under_review",
]

# `settings.payouts.schedule.weekly_anchor` values, in Python's weekday order (Monday is 0).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ADDRESS = {"city": "str", "country": "str", "line1": "str", "line2": "str", "postal_code": "str", "state": "str"}
_CAPS = {name: {"requested": "bool"} for name in ("card_payments", "transfers", "us_bank_account_ach_payments")}
ACCOUNT_SCHEMA: dict[str, Any] = {
    "type": ("express", "standard", "custom"),
    "country": "str",
    "email": "str",
    "capabilities": _CAPS,
    "business_type": ("individual", "company", "non_profit", "government_entity"),
    "business_profile": {
        "mcc": "str",
        "name": "str",
        "product_description": "str",
        "support_email": "str",
        "support_phone": "str",
        "support_url": "str",
        "url": "str",
        "support_address": _ADDRESS,
    },
    "default_currency": "str",
    "metadata": "meta",
    "settings": {
        "payouts": {
            "schedule": {
                "interval": ("manual", "daily", "weekly", "monthly"),
                "delay_days": "any",
                "weekly_anchor": WEEKDAYS,
                "monthly_anchor": "int",
            },
            "debit_negative_balances": "bool",
            "statement_descriptor": "str",
        }
    },
    "tos_acceptance": {"service_agreement": ("full", "recipient"), "date": "int", "ip": "str"},
    "controller": {
        "fees": {"payer": ("account", "application")},
        "losses": {"payments": ("application", "stripe")},
        "requirement_collection": ("application", "stripe"),
        "stripe_dashboard": {"type": ("express", "full", "none")},
    },
}
UPDATE_SCHEMA = {k: v for k, v in ACCOUNT_SCHEMA.items() if k not in ("type", "country", "controller")}
COUNTRY_CURRENCY = {
    "US": "usd",
    "JP": "jpy",
    "GB": "gbp",
    "FR": "eur",
    "DE": "eur",
    "IE": "eur",
    "CA": "cad",
    "AU": "aud",
}


def _requirements(due: list[str], disabled: str | None, deadline: int | None = None) -> Obj:
    return {
        "alternatives": [],
        "current_deadline": deadline,
        "currently_due": list(due),
        "disabled_reason": disabled,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
    }


def _merge(target: Obj, patch: Obj) -> None:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict) and k != "metadata":
            _merge(target[k], v)
        else:
            target[k] = v


def capability(account: Obj, name: str) -> Obj:
    """A Capability object as Stripe sends it in ``capability.updated``."""
    due = account["requirements"]["currently_due"]
    return template(
        "capability",
        id=name,
        account=account["id"],
        requested=True,
        requested_at=account["created"],
        requirements=_requirements(due, account["requirements"]["disabled_reason"] if due else None),
        status=account["capabilities"][name],
    )


def account_create(ctx: Ctx) -> Obj:
    if ctx.owner:
        raise StripeError(400, "You cannot create connected accounts on behalf of a connected account.")
    p = ctx.params(ACCOUNT_SCHEMA)
    now = ctx.store.now()
    country = (p.get("country") or "US").upper()
    acct = template(
        "account",
        id=new_id("acct_", 16),
        created=now,
        type=p.get("type") or "express",
        country=country,
        email=p.get("email"),
        default_currency=p.get("default_currency") or COUNTRY_CURRENCY.get(country, "usd"),
        metadata=p.get("metadata") or {},
        business_type=p.get("business_type"),
        charges_enabled=False,
        payouts_enabled=False,
        details_submitted=False,
        requirements=_requirements(initial_requirements(country), "requirements.past_due"),
        capabilities={name: "inactive" for name, v in (p.get("capabilities") or {}).items() if v.get("requested")},
    )
    acct["external_accounts"]["url"] = f"/v1/accounts/{acct['id']}/external_accounts"
    acct["settings"]["dashboard"]["display_name"] = None
    acct["settings"]["payouts"]["schedule"] = {"delay_days": 2, "interval": "daily"}
    if acct["type"] != "express":
        acct["controller"] = {"is_controller": True, "type": "application"}
    _merge(acct, {k: v for k, v in p.items() if k in ("business_profile", "settings", "tos_acceptance")})
    _settle_schedule(acct, p)
    return ctx.store.add(acct, PLATFORM)


def _account(ctx: Ctx, account_id: str) -> Obj:
    if ctx.owner and ctx.owner != account_id:
        raise StripeError(
            403, f"The account '{ctx.owner}' does not have access to account '{account_id}'.", code="account_invalid"
        )
    return ctx.store.get(account_id, "account", PLATFORM)


def account_retrieve(ctx: Ctx, account_id: str) -> Obj:
    ctx.params({})
    return _account(ctx, account_id)


def account_self(ctx: Ctx) -> Obj:
    """``GET /v1/account``: the connected account with ``Stripe-Account``, else the platform itself."""
    ctx.params({})
    if ctx.owner:
        return ctx.store.get(ctx.owner, "account", PLATFORM)
    return platform_account(ctx.core)


def platform_account(core: Core) -> Obj:
    acct = template(
        "account",
        id="acct_sandboxplatform",
        type="standard",
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        capabilities={"card_payments": "active", "transfers": "active"},
        requirements=_requirements([], None),
        email="platform@example.com",
        created=0,
    )
    acct["controller"] = {"type": "account"}
    return acct


def account_update(ctx: Ctx, account_id: str) -> Obj:
    acct = _account(ctx, account_id)
    p = ctx.params(UPDATE_SCHEMA)
    before = copy.deepcopy(acct)
    trial = copy.deepcopy(acct)  # refuse a bad schedule before anything changes
    _merge(trial, {k: v for k, v in p.items() if k == "settings"})
    _settle_schedule(trial, p)
    caps = p.pop("capabilities", None) or {}
    for name, v in caps.items():
        if v.get("requested") and name not in acct["capabilities"]:
            acct["capabilities"][name] = "active" if acct["charges_enabled"] else "inactive"
    meta = p.pop("metadata", None)
    if meta is not None:
        acct["metadata"] = {**acct["metadata"], **meta}
        acct["metadata"] = {k: v for k, v in acct["metadata"].items() if v}
    _merge(acct, p)
    _settle_schedule(acct, p)
    changed = diff(before, acct)
    if changed:
        ctx.core.emit("account.updated", acct, account=acct["id"], previous=changed)
    return acct


def _settle_schedule(acct: Obj, p: Obj) -> None:
    """Stripe's rules for `settings.payouts.schedule`: an anchor is required with (and kept only for) its interval,
    `monthly_anchor` is a day 1-31 (paid on the month's last day when shorter), and `delay_days` stays at the last
    configured value when the interval is `manual`. The account is left unchanged when the request is refused."""
    requested = ((p.get("settings") or {}).get("payouts") or {}).get("schedule") or {}
    schedule = acct["settings"]["payouts"]["schedule"]
    anchor = requested.get("monthly_anchor")
    if anchor is not None and not 1 <= anchor <= 31:
        raise invalid(
            "Invalid monthly_anchor: must be between 1 and 31", param="settings[payouts][schedule][monthly_anchor]"
        )
    interval = schedule.get("interval", "daily")
    for kind in ("weekly", "monthly"):
        key = f"{kind}_anchor"
        if interval == kind and not schedule.get(key):
            raise invalid(
                f"You must specify a {key} when interval is {kind}.", param=f"settings[payouts][schedule][{key}]"
            )
        if interval != kind:
            schedule.pop(key, None)


def account_list(ctx: Ctx) -> Obj:
    p = ctx.params({}, listing=True)
    return ctx.store.list_page("account", PLATFORM, p, "/v1/accounts")


def account_delete(ctx: Ctx, account_id: str) -> Obj:
    ctx.params({})
    acct = _account(ctx, account_id)
    acct["_deleted"] = True
    ctx.core.emit("account.application.deauthorized", _application(), account=account_id)
    return {"id": account_id, "object": "account", "deleted": True}


def _application() -> Obj:
    return {"id": "ca_sandbox", "object": "application", "name": "Sandbox platform"}


def login_link_create(ctx: Ctx, account_id: str) -> Obj:
    ctx.params({})
    acct = _account(ctx, account_id)
    if acct["type"] != "express":
        raise invalid("Cannot create a login link for an account that is not an Express account.")
    if not acct["details_submitted"]:
        raise invalid("Cannot create a login link for an account that has not completed onboarding.", param="account")
    token = secrets.token_urlsafe(12)
    now = ctx.store.now()
    ctx.store.tokens[token] = {"kind": "login", "account": account_id, "created": now}
    return {"object": "login_link", "created": now, "url": f"{ctx.core.base_url}/hosted/express/{token}"}


LINK_SCHEMA: dict[str, Any] = {
    "!account": "str",
    "!type": ("account_onboarding", "account_update"),
    "refresh_url": "str",
    "return_url": "str",
    "collect": ("currently_due", "eventually_due"),
    "collection_options": {"fields": ("currently_due", "eventually_due"), "future_requirements": ("include", "omit")},
}
LINK_TTL = 300


def account_link_create(ctx: Ctx) -> Obj:
    p = ctx.params(LINK_SCHEMA)
    acct = ctx.store.get(p["account"], "account", PLATFORM)
    # Stripe's docs: `account_update` links exist only for accounts whose platform collects the
    # requirements (Custom); accounts with a Stripe-hosted Dashboard (Express, Standard) update their
    # details there. (The wording of Stripe's refusal is not documented; this one says the rule.)
    if p["type"] == "account_update" and acct.get("type") in ("express", "standard"):
        raise invalid(
            "You cannot create `account_update` type Account Links for accounts that have access to a "
            "Stripe-hosted Dashboard.",
            param="type",
        )
    if p["type"] == "account_update" and not acct["details_submitted"]:
        raise invalid("You cannot create `account_update` type Account Links for this account.", param="type")
    for key in ("refresh_url", "return_url"):
        if not p.get(key):
            raise StripeError(400, f"Missing required param: {key}.", code="parameter_missing", param=key)
    now = ctx.store.now()
    token = secrets.token_urlsafe(12)
    ctx.store.tokens[token] = {
        "kind": "account_link",
        "account": acct["id"],
        "type": p["type"],
        "refresh_url": p["refresh_url"],
        "return_url": p["return_url"],
        "created": now,
        "expires_at": now + LINK_TTL,
        "used": False,
    }
    return {
        "object": "account_link",
        "created": now,
        "expires_at": now + LINK_TTL,
        "url": f"{ctx.core.base_url}/hosted/onboarding/{token}",
    }


def link_state(core: Core, token: str) -> tuple[Obj | None, str]:
    """(record, state) with state ``valid`` | ``used`` | ``expired`` | ``unknown``."""
    rec = core.store.tokens.get(token)
    if rec is None or rec.get("kind") != "account_link":
        return None, "unknown"
    if rec["used"]:
        return rec, "used"
    if core.store.now() >= rec["expires_at"]:
        return rec, "expired"
    return rec, "valid"


def onboarding_complete(core: Core, account_id: str, *, requirements_due: bool = False) -> Obj:
    """What the person finishing Express onboarding does to the account, with Stripe's events."""
    acct = core.store.get(account_id, "account", PLATFORM)
    before = copy.deepcopy(acct)
    now = core.store.now()
    acct["details_submitted"] = True
    acct["business_type"] = acct["business_type"] or "individual"
    acct["tos_acceptance"] = {"date": now, "ip": "127.0.0.1", "user_agent": "stripe-sandbox"}
    if not acct["capabilities"]:
        acct["capabilities"] = {"card_payments": "inactive", "transfers": "inactive"}
    if not acct["external_accounts"]["data"]:
        bank = template(
            "bank_account",
            id=new_id("ba_"),
            account=account_id,
            account_holder_name=None,
            account_holder_type="individual",
            currency=acct["default_currency"],
            country=acct["country"],
            default_for_currency=True,
            status="new",
            available_payout_methods=["standard", "instant"],
        )
        bank.pop("customer", None)
        acct["external_accounts"]["data"] = [bank]
        acct["external_accounts"]["total_count"] = 1
    if requirements_due:
        set_requirements(core, acct, currently_due=LEFT_DUE, disabled_reason="requirements.past_due", emit=False)
    else:
        set_requirements(core, acct, currently_due=[], disabled_reason=None, emit=False)
    _emit_account_changes(core, before, acct)
    return acct


def set_requirements(
    core: Core,
    acct: Obj,
    *,
    currently_due: list[str],
    past_due: list[str] | None = None,
    eventually_due: list[str] | None = None,
    disabled_reason: str | None = None,
    current_deadline: int | None = None,
    emit: bool = True,
) -> Obj:
    """Set what Stripe still needs, keeping Stripe's invariants: what is past due is also currently due, what is
    currently due is also eventually due, and fields past due disable the account (``requirements.past_due``)
    unless another reason is given. Charges and payouts follow ``disabled_reason`` like Stripe's own logic.

    ``past_due=None`` means "all of ``currently_due``" when a ``disabled_reason`` is given, else nothing."""
    before = copy.deepcopy(acct)
    past = list(past_due if past_due is not None else (currently_due if disabled_reason else []))
    current = _union(currently_due, past)
    if past and disabled_reason is None:
        disabled_reason = "requirements.past_due"
    req = _requirements(current, disabled_reason, current_deadline)
    req["past_due"] = past
    req["eventually_due"] = _union(eventually_due or [], current)
    acct["requirements"] = req
    enabled = disabled_reason is None
    acct["charges_enabled"] = enabled and acct["details_submitted"]
    acct["payouts_enabled"] = enabled and acct["details_submitted"]
    status = "active" if acct["charges_enabled"] else ("pending" if not current else "inactive")
    acct["capabilities"] = dict.fromkeys(acct["capabilities"], status)
    if emit:
        _emit_account_changes(core, before, acct)
    return acct


def _union(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _emit_account_changes(core: Core, before: Obj, acct: Obj) -> None:
    changed = diff(before, acct)
    if not changed:
        return
    core.emit("account.updated", acct, account=acct["id"], previous=changed)
    for name, status in acct["capabilities"].items():
        if before["capabilities"].get(name) != status:
            core.emit(
                "capability.updated",
                capability(acct, name),
                account=acct["id"],
                previous={"status": before["capabilities"].get(name)},
            )


ROUTES: list[Route] = [
    ("POST", r"/v1/accounts", account_create),
    ("GET", r"/v1/accounts", account_list),
    ("GET", r"/v1/account", account_self),
    ("GET", r"/v1/accounts/([^/]+)", account_retrieve),
    ("POST", r"/v1/accounts/([^/]+)", account_update),
    ("DELETE", r"/v1/accounts/([^/]+)", account_delete),
    ("POST", r"/v1/accounts/([^/]+)/login_links", login_link_create),
    ("POST", r"/v1/account_links", account_link_create),
]
