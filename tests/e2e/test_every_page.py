"""Every page, for every role, on a 375 px phone: nothing is wider than the screen, axe-core finds
no critical or serious violation, and each tick box's or choice's label is beside its box. Pages
showing a flash message (success, error) are checked too.

The pages come from the URL resolver: a new URL fails `test_every_url_is_classified` until it is
listed below, as a page (with how to build its address from the seeded demo) or with the reason it
is not one; a new model in the Django admin brings its pages in by itself. The demo's own seeding
(`seed_demo`, through the sandbox, its webhooks delivered to the live server) gives every page the
objects it needs. axe-core comes from npm (`make axe`, into .cache/axe), never from a CDN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Model
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from playwright.sync_api import Browser, expect

from catalog.models import Category, Listing
from marketplace.management.commands.seed_demo import DEMO_PASSWORD
from marketplace.webhooks.models import WebhookEvent
from orders.models import Order
from payments.models import Dispute
from payouts.models import Payout
from sellers.models import Seller
from subscriptions.models import SubscriptionInvoice
from tests.e2e.browser import PHONE, Check, Phone, log_in
from tests.factories import make_platform_admin

ROLES = {
    "anonymous": None,
    "buyer": "buyer@marketplace.test",
    "seller": "seller.active@marketplace.test",  # Hokusai Prints: active, with listings and a paid order
    "admin": "admin@marketplace.test",
}


@dataclass
class Seeded:
    """The demo objects that pages with an id in their address are shown for."""

    listing: Listing
    category: Category
    seller: Seller
    order: Order  # the demo buyer's paid order from the seller above
    event: WebhookEvent
    dispute: Dispute  # the seeded dispute on the seller above (seed_demo_disputes)
    payout_id: int = 0  # the seller's first payout, 0 when it has none
    sub_payment_id: int = 0  # the seller's first paid subscription invoice, 0 when it has none

    @classmethod
    def load(cls) -> Seeded:
        seller = Seller.objects.get(user__email=ROLES["seller"])
        listing = Listing.objects.visible().filter(seller=seller).order_by("pk").first()
        event = WebhookEvent.objects.order_by("received_at").first()
        assert listing is not None and event is not None
        order = Order.objects.get(buyer__email=ROLES["buyer"], seller=seller)
        dispute = Dispute.objects.get(seller=seller)
        payout = Payout.objects.filter(account=seller.stripe_account_id or "").order_by("pk").first()
        sub_payment = SubscriptionInvoice.objects.filter(subscription__seller=seller, payment__isnull=False).first()
        return cls(
            listing=listing,
            category=listing.category,
            seller=seller,
            order=order,
            event=event,
            dispute=dispute,
            payout_id=payout.pk if payout else 0,
            sub_payment_id=sub_payment.pk if sub_payment else 0,
        )


Address = Callable[[Seeded], str]


def _url(name: str, *args: object, query: str = "") -> Address:
    return lambda s: reverse(name, args=[a(s) if callable(a) else a for a in args]) + query


# Each role visits every page: one it may not see answers with the login page or the site's 404,
# which must fit too. Addresses are built from the seeded demo.
PAGES: dict[str, Address] = {
    # storefront
    "home": _url("home"),
    "storefront_category": _url("storefront_category", lambda s: s.category.slug),
    "storefront_search": _url("storefront_search", query="?q=print"),
    "storefront_shop": _url("storefront_shop", lambda s: s.seller.pk),
    "storefront_listing": _url("storefront_listing", lambda s: s.listing.pk),
    "cart": _url("cart"),
    # orders; Stripe's return pages redirect to the order with a flash message
    "checkout": _url("checkout"),
    "checkout_success": lambda s: reverse("checkout_success") + f"?session_id={s.order.checkout_session_id}",
    "checkout_canceled": lambda s: reverse("checkout_canceled") + f"?order={s.order.pk}",
    "order_list": _url("order_list"),
    "order_detail": _url("order_detail", lambda s: s.order.pk),
    "saved_cards": _url("saved_cards"),
    # Stripe's return pages of saved cards: an unknown setup or payment is the site's 404
    "saved_card_added": _url("saved_card_added", query="?session_id=cs_test_unknown"),
    "buy_now_return": lambda s: reverse("buy_now_return") + f"?order={s.order.pk}&payment_intent=pi_unknown",
    # subscriptions; Stripe's return page of a subscription checkout: an unknown one is the site's 404
    "my_subscriptions": _url("my_subscriptions"),
    "subscription_started": _url("subscription_started", query="?session_id=cs_test_unknown"),
    "sell_subscriptions": _url("sell_subscriptions"),
    # the seller's first paid subscription invoice (seed_demo_subscriptions), else the site's 404
    "sell_subscription_payment": _url("sell_subscription_payment", lambda s: s.sub_payment_id),
    "sell_orders": _url("sell_orders"),
    "sell_order_detail": _url("sell_order_detail", lambda s: s.order.pk),
    "sell_refund_requests": _url("sell_refund_requests"),
    # the Sell area; Stripe's return page shows the seller home with a flash message
    "sell_home": _url("sell_home"),
    "sell_onboarding_return": _url("sell_onboarding_return", lambda s: s.seller.pk),
    "sell_listings": _url("sell_listings"),
    "sell_listing_new": _url("sell_listing_new"),
    "sell_listing_edit": _url("sell_listing_edit", lambda s: s.listing.pk),
    "sell_money": _url("sell_money"),
    "sell_payouts": _url("sell_payouts"),
    # the demo's sales and their fees, each line naming its order
    "sell_statement_page": lambda s: (
        reverse("sell_statement_page") + f"?start={date.today() - timedelta(days=60)}"
        f"&end={date.today() + timedelta(days=60)}"
    ),
    # the demo seeds no payout yet: the seller's first one when there is one, else the site's 404
    "sell_payout_detail": _url("sell_payout_detail", lambda s: s.payout_id),
    # the admin console
    "console_home": _url("console_home"),
    "console_sellers": _url("console_sellers"),
    "console_seller_detail": _url("console_seller_detail", lambda s: s.seller.pk),
    "console_fees": _url("console_fees"),
    "console_refunds": _url("console_refunds"),
    "console_revenue": _url("console_revenue"),
    "console_negative_balances": _url("console_negative_balances"),
    "console_ledger": _url("console_ledger"),
    "console_reconciliation": _url("console_reconciliation"),
    "console_events": _url("console_events"),
    "console_event_detail": _url("console_event_detail", lambda s: s.event.pk),
    "console_disputes": _url("console_disputes"),
    "console_dispute_detail": _url("console_dispute_detail", lambda s: s.dispute.pk),
    # the seller's disputes
    "sell_disputes": _url("sell_disputes"),
    "sell_dispute_detail": _url("sell_dispute_detail", lambda s: s.dispute.pk),
    # the API's docs (Swagger UI, drawn by script once the schema is loaded: see READY)
    "api-v1:openapi-view": _url("api-v1:openapi-view"),
    # accounts (allauth, in the site's layout); keys that allauth cannot match show its "bad link" page
    "account_login": _url("account_login"),
    "account_logout": _url("account_logout"),
    "account_inactive": _url("account_inactive"),
    "account_signup": _url("account_signup"),
    "account_reauthenticate": _url("account_reauthenticate"),
    "account_request_reauthentication_code": _url("account_request_reauthentication_code"),
    "account_confirm_reauthentication_code": _url("account_confirm_reauthentication_code"),
    "account_email": _url("account_email"),
    "account_email_verification_sent": _url("account_email_verification_sent"),
    "account_change_password": _url("account_change_password"),
    "account_set_password": _url("account_set_password"),
    "account_reset_password": _url("account_reset_password"),
    "account_confirm_login_code": _url("account_confirm_login_code"),
    "account_confirm_email": _url("account_confirm_email", "not-a-key"),
    "account_reset_password_from_key": _url("account_reset_password_from_key", "0", "not-a-key"),
    "account_reset_password_from_key_done": _url("account_reset_password_from_key_done"),
    "account_reset_password_done": _url("account_reset_password_done"),
    "mfa_index": _url("mfa_index"),
    "mfa_authenticate": _url("mfa_authenticate"),
    "mfa_reauthenticate": _url("mfa_reauthenticate"),
    "mfa_activate_totp": _url("mfa_activate_totp"),
    "mfa_deactivate_totp": _url("mfa_deactivate_totp"),
    "mfa_view_recovery_codes": _url("mfa_view_recovery_codes"),
    "mfa_generate_recovery_codes": _url("mfa_generate_recovery_codes"),
    # Django's admin (a superuser's fallback): its fixed pages here, each model's from admin.site below.
    # The demo's platform admin holds no model permission, so for all four roles those answer 403.
    "admin:index": _url("admin:index"),
    "admin:login": _url("admin:login"),
    "admin:app_list": _url("admin:app_list", "sellers"),
    "admin:password_change": _url("admin:password_change"),
    "admin:password_change_done": _url("admin:password_change_done"),
}
ADMIN_MODEL_PAGES = ("changelist", "add", "change", "history", "delete")

# Pages drawn by script: what to wait for before measuring.
READY = {"api-v1:openapi-view": ".swagger-ui .opblock"}

# Form targets: a GET gets 405 (test_form_targets_refuse_get), so there is no page to see.
POST_ONLY: dict[str, Address] = {
    "cart_add": _url("cart_add"),
    "cart_item_update": _url("cart_item_update", 1),
    "cart_item_remove": _url("cart_item_remove", 1),
    "order_cancel": _url("order_cancel", 1),
    "saved_card_add": _url("saved_card_add"),
    "saved_card_default": _url("saved_card_default", "pm_1"),
    "saved_card_remove": _url("saved_card_remove", "pm_1"),
    "buy_now": _url("buy_now", 1),
    "buy_now_resume": _url("buy_now_resume", 1),
    "subscribe": _url("subscribe", 1),
    "manage_billing": _url("manage_billing"),
    "sell_subscription_plan": _url("sell_subscription_plan", 1),
    "sell_subscription_end": _url("sell_subscription_end", 1),
    "order_received": _url("order_received", 1),
    "sell_order_fulfil": _url("sell_order_fulfil", 1),
    "order_refund_request": _url("order_refund_request", 1),
    "sell_order_refund": _url("sell_order_refund", 1),
    "sell_refund_request_approve": _url("sell_refund_request_approve", 1),
    "sell_refund_request_decline": _url("sell_refund_request_decline", 1),
    "console_refund_request_approve": _url("console_refund_request_approve", 1),
    "console_refund_request_decline": _url("console_refund_request_decline", 1),
    "console_order_refund": _url("console_order_refund"),
    "console_subscription_refund": _url("console_subscription_refund"),
    "sell_subscription_refund": _url("sell_subscription_refund", 1),
    "sell_start": _url("sell_start"),
    "sell_onboarding_continue": _url("sell_onboarding_continue"),
    "sell_dashboard": _url("sell_dashboard"),
    "sell_payout_schedule": _url("sell_payout_schedule"),
    "sell_payout_now": _url("sell_payout_now"),
    "sell_listing_publish": _url("sell_listing_publish", 1),
    "sell_listing_unpublish": _url("sell_listing_unpublish", 1),
    "sell_listing_image_remove": _url("sell_listing_image_remove", 1, 1),
    "console_seller_pause": _url("console_seller_pause", 1),
    "console_seller_unpause": _url("console_seller_unpause", 1),
    "console_group_transfer_retry": _url("console_group_transfer_retry", 1),
    "console_seller_refresh": _url("console_seller_refresh", 1),
    "console_fee_rule_delete": _url("console_fee_rule_delete", 1),
    "console_reconciliation_run": _url("console_reconciliation_run"),
    "console_refund_attention_handled": _url("console_refund_attention_handled", 1),
    "console_event_replay": _url("console_event_replay", "evt_1"),
    "console_dispute_evidence": _url("console_dispute_evidence", 1),
    "console_dispute_file": _url("console_dispute_file", 1),
    "console_dispute_accept": _url("console_dispute_accept", 1),
    "console_dispute_file_field": _url("console_dispute_file_field", 1, 1),
    "sell_dispute_statement": _url("sell_dispute_statement", 1),
    "sell_dispute_file": _url("sell_dispute_file", 1),
    "admin:logout": _url("admin:logout"),
}

NOT_PAGES = {
    "stripe_webhook": "Stripe's POSTs, signed",
    "stripe_connect_webhook": "Stripe's POSTs, signed",
    "healthz": "JSON for load balancers",
    "favicon": "a redirect to the site's icon (an SVG file)",
    "sell_onboarding_refresh": "Stripe's refresh_url: always a redirect to Stripe's hosted onboarding",
    "mfa_download_recovery_codes": "a text file download",
    "sell_statement": "a CSV file download",
    "console_revenue_csv": "a CSV file download",
    "console_ledger_csv": "a CSV file download",
    "console_dispute_file_download": "a proof file download (PDF, PNG, JPEG)",
    "sell_dispute_file_download": "a proof file download (PDF, PNG, JPEG)",
    "api-v1:openapi-json": "the OpenAPI schema (JSON)",
    "api-v1:api-root": "the API's root (JSON)",
    "admin:autocomplete": "JSON for the admin's select boxes",
    "admin:jsi18n": "the admin's JavaScript catalog",
    "admin:view_on_site": "a redirect to the object's page on the site",
    "admin:None": "the admin's unnamed redirects (old object addresses, the catch-all)",
}
# The API's operations answer JSON: every name in the api-v1 namespace but the ones above.
NOT_PAGE_NAMESPACES = {"api-v1:": "JSON API operations"}


def _patterns(resolver: URLResolver | None = None, namespace: str = "") -> Iterator[str]:
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p, f"{namespace}{p.namespace}:" if p.namespace else namespace)
        elif isinstance(p, URLPattern):
            yield f"{namespace}{p.name}"


def _admin_model_pages() -> dict[str, Address]:
    """Every registered model's admin pages; object pages show the model's first row (or, when the
    demo has none, the admin's "does not exist" redirect, which is a page too)."""
    pages: dict[str, Address] = {}
    for model in admin.site._registry:
        opts = model._meta
        for page in ADMIN_MODEL_PAGES:
            name = f"admin:{opts.app_label}_{opts.model_name}_{page}"
            args = [] if page in ("changelist", "add") else [_first_pk(model)]
            pages[name] = _url(name, *args)
    return pages


def _first_pk(model: type[Model]) -> Callable[[Seeded], str]:
    def pk(_: Seeded) -> str:
        row = model._default_manager.order_by("pk").first()
        return str(row.pk) if row else "0"

    return pk


def test_every_url_is_classified() -> None:
    """A new URL must say what it is: a page (then the phone test visits it) or why not."""
    known = PAGES.keys() | _admin_model_pages().keys() | POST_ONLY.keys() | NOT_PAGES.keys()
    unclassified = [n for n in _patterns() if n not in known and not n.startswith(tuple(NOT_PAGE_NAMESPACES))]
    assert unclassified == [], "classify these URL names in tests/e2e/test_every_page.py: " + repr(unclassified)


@pytest.mark.django_db
def test_form_targets_refuse_get() -> None:
    """What POST_ONLY lists is really no page: a GET, even a platform admin's, gets 405."""
    client = Client()
    client.force_login(make_platform_admin())
    unknown = Seeded(Listing(), Category(), Seller(), Order(), WebhookEvent(), Dispute())
    statuses = {name: client.get(address(unknown)).status_code for name, address in POST_ONLY.items()}
    assert statuses == dict.fromkeys(POST_ONLY, 405)


# --- The phone ---------------------------------------------------------------------------------


@pytest.fixture
def demo(sandbox_webhooks: Any, tmp_path: Path) -> Iterator[Seeded]:
    """The demo's data, seeded the demo's way; the sandbox's webhooks fill the event log."""
    # A transactional test's flush removes the admins group its data migration made; seed_demo needs it.
    Group.objects.get_or_create(name=settings.PLATFORM_ADMINS_GROUP)
    with override_settings(MEDIA_ROOT=str(tmp_path / "media")):
        call_command("seed_demo", stdout=StringIO())
        assert sandbox_webhooks.wait_for_webhooks(timeout=30)
        yield Seeded.load()


# One long walk (about 125 s on a quiet machine): the suite's 300 s limit per test is for a hang,
# and at a load of 8 or more the walk took 349 s.
@pytest.mark.timeout(900)
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_every_page_fits_a_phone_and_passes_axe(
    axe_js: Path, live_server: Any, browser: Browser, demo: Seeded, clean_cache: None
) -> None:
    base = live_server.url
    checks: list[Check] = []
    for role, email in ROLES.items():
        context = browser.new_context(viewport=PHONE)
        context.add_init_script(path=axe_js)  # 2-3x faster than injecting it into each page afterwards
        phone = Phone(context.new_page(), role)
        phone.page.set_default_timeout(10_000)
        if email:
            log_in(phone.page, base, email, DEMO_PASSWORD)
            expect(phone.page.locator(".messages li")).to_contain_text(["Successfully signed in"])
            phone.check()
        if role == "buyer":
            _fill_cart(phone, base, demo)
        for name, address in PAGES.items():
            phone.visit(base + address(demo), READY.get(name))
        for address in _admin_model_pages().values():
            phone.visit_if_new_answer(base + address(demo))
        checks += phone.checks
        context.close()

    visited = "\n".join(
        f"  {c.role:<9} {c.status} {c.width:>4} px {len(c.blocking)} serious {c.minor} minor  {c.url}" for c in checks
    )
    print(f"\n{len(checks)} pages checked at {PHONE['width']} px:\n{visited}")
    failures = [str(c) for c in checks if not c.ok]
    assert failures == [], f"{len(failures)} of {len(checks)} pages fail on a phone:\n" + "\n".join(failures)


def _fill_cart(phone: Phone, base: str, demo: Seeded) -> None:
    """Two shops in the cart (its cards), with a success message and a refused quantity on the way."""
    other = Listing.objects.visible().exclude(seller=demo.seller).order_by("pk").first()
    assert other is not None
    for listing in (other, demo.listing):
        phone.page.goto(f"{base}/listing/{listing.pk}/")
        phone.page.get_by_role("button", name="Add to cart").click()
    expect(phone.page.locator(".message.success")).to_contain_text("Added to your cart")
    phone.check()
    quantity = phone.page.get_by_label(f"Quantity of {demo.listing.title}")
    quantity.fill(str(demo.listing.stock + 1))
    quantity.press("Enter")
    expect(phone.page.get_by_label(f"Quantity of {demo.listing.title}")).to_have_attribute("aria-invalid", "true")
    expect(phone.page.locator(".errorlist")).to_be_visible()  # said beside the line's box
    phone.check()
