"""Who may do what, on whose objects: every page and every API operation, for seven roles.

The endpoints are not listed by hand: pages come from the URL resolver and API operations from the
OpenAPI document, and `test_every_endpoint_has_an_entry` fails for any of them missing from the
table below (or for an entry that no longer matches an endpoint). So a new URL cannot ship without
someone deciding, here, who may use it.

Each request is made by each role against one shared world in which the objects belong to someone:
the buyer's orders and cart, the seller's listings (a draft among them) and orders received, a
webhook event, a fee rule, a moderation note. The outcome of every (endpoint, method, role) is
declared in one table, and three things are checked for each request:

- the status is the declared one (a 500 is never declared);
- a request not marked `+` in the table writes no row at all (Postgres's per-transaction row
  counters, read before and after; the session table is the only one left out), whatever its
  status; so a denied POST, PATCH or DELETE, or a GET, cannot change anything;
- no response shows a private string (canary) to anyone but its owners: an email, a draft title,
  a tracking number, an event payload, an admin's note.

Every private string is also seen by one of its owners somewhere, so the leak check looks for
text that pages really show. Every page is tried with GET and POST; every API path with each of
GET, POST, PATCH, PUT and DELETE (those that are not operations must be 405s).

Each request runs in a savepoint rolled back afterwards, so every role meets the same world. The
Django test client skips CSRF checks, so a refusal here is the authorization's, not CSRF's
(tests/marketplace/test_api.py covers CSRF). The Stripe calls of allowed requests reach the sandbox
over HTTP; the sellers were onboarded there.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.http import int_to_base36

from catalog import services as catalog_services
from catalog.models import Cart, CartItem, Listing, ListingStatus
from config.api import api
from fees.models import FeeRule
from fees.services import fee_rule_set
from marketplace.webhooks.models import WebhookEvent
from orders.models import Order, OrderLine, OrderStatus, RefundRequest
from orders.services.checkout import buyer_customer_ensure
from payments.models import Dispute, DisputeFile, Payment
from payouts.models import Payout, PayoutStatus
from sellers.models import Seller
from sellers.services import seller_create, seller_pause, seller_refresh_from_stripe, seller_unpause
from subscriptions.models import Subscription, SubscriptionInvoice
from tests.catalog.factories import CategoryFactory, ListingFactory, SellerFactory, png_upload
from tests.factories import UserFactory, make_platform_admin
from tests.sandbox.helpers import client_for
from tests.sellers.conftest import submit_onboarding

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "buyer", "other_buyer", "seller", "other_seller", "admin", "staff")
EXCLUDED_TABLES = frozenset({"marketplace_session", "django_session"})  # a session is written by any visit: not data


# --- The table ------------------------------------------------------------------------------------
# Outcome per role, in the order of ROLES. A status code, or `login` (redirected to sign in).
# `+` marks a role allowed to change data with that request; without it, not one row may be written.


@dataclass(frozen=True)
class Ref:
    """In a request body: the id of an object of the world (a string in a form, a number in JSON)."""

    name: str


@dataclass(frozen=True)
class Row:
    """One endpoint (or one case of it): the objects that fill its URL, and the outcome per method."""

    objects: dict[str, str] = field(default_factory=dict)  # URL parameter -> name of an object of the world
    query: dict[str, str] = field(default_factory=dict)  # query parameter -> name of an object of the world
    body: dict[str, Any] = field(default_factory=dict)  # form fields (pages) or JSON (API); Ref = an object's id
    upload: bool = False  # send an image (multipart) instead of the body
    upload_field: str = "image"  # the multipart field the image goes in
    GET: str = ""
    POST: str = ""
    PATCH: str = ""
    PUT: str = ""
    DELETE: str = ""

    def outcomes(self) -> dict[str, tuple[str, ...]]:
        out = {}
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            spec = getattr(self, method)
            if spec:
                tokens = tuple(spec.split())
                assert len(tokens) == len(ROLES), f"{method}: {len(tokens)} outcomes for {len(ROLES)} roles"
                out[method] = tokens
        return out


def same(token: str) -> str:
    return " ".join([token] * len(ROLES))


LISTING_FORM = {"title": "Changed", "description": "x", "price": "31.00", "stock": "3", "category": Ref("category_pk")}
REASON = {"reason": "Checked by the matrix"}

# fmt: off
# Pages. Key: the URL name (namespace:name), or the route when the pattern has no name; `key[case]`
# adds a case with other objects.
#                                          anon   buyer  o.buyer seller o.sell admin  staff
PAGES: dict[str, Row] = {
    # The storefront: public, and a draft is nobody's to see there (not even its seller's).
    "home": Row(GET=same("200"), POST=same("200")),
    "storefront_category": Row({"slug": "category"}, GET=same("200"), POST=same("200")),
    "storefront_search": Row(query={"q": "draft_words"}, GET=same("200"), POST=same("200")),
    "storefront_shop": Row({"seller_id": "seller"}, GET=same("200"), POST=same("200")),
    # The buyer's card was saved with no default: the page's "Buy now" makes it the default at Stripe
    # and counts that change of the buyer's cards (`StripeCustomer.card_changes`, in the next keys).
    "storefront_listing": Row(
        {"listing_id": "listing"},
        GET=                              "200    200+   200    200    200    200    200",
        POST=same("200"),
    ),
    "storefront_listing[draft]": Row({"listing_id": "draft_listing"}, GET=same("404"), POST=same("404")),
    # The cart is the session's (or the user's): someone else's cart item is not found in one's own.
    "cart": Row(GET=same("200"), POST=same("200")),
    "cart_add": Row(body={"listing": Ref("listing"), "attempt": "ab" * 16}, GET=same("405"), POST=same("302+")),
    "cart_item_update": Row(
        {"item_id": "cart_item"},
        body={"quantity": "5"},
        GET=                              "405    405    405    405    405    405    405",
        POST=                             "404    302+   302    404    404    404    404",
    ),
    "cart_item_remove": Row(
        {"item_id": "cart_item"},
        GET=                              "405    405    405    405    405    405    405",
        POST=                             "404    302+   302    404    404    404    404",
    ),
    # Checkout and the buyer's orders: only the buyer's own.
    "checkout": Row(
        body={"seller_id": Ref("seller"), "currency": "usd"},
        GET=                              "login  200    200    200    200    200    200",
        POST=                             "login  303+   302    302    302    302    302",
    ),
    "checkout_success": Row(
        query={"session_id": "paid_session"},
        GET=                              "login  302+   404    404    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "checkout_canceled": Row(
        query={"order": "pending_order"},
        GET=                              "login  302+   404    404    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "order_list": Row(
        GET=                              "login  200    200    200    200    200    200",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "order_detail": Row(
        {"order_id": "paid_order"},
        GET=                              "login  200    404    404    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "order_cancel": Row(
        {"order_id": "pending_order"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  302+   404    404    404    404    404",
    ),
    "order_received": Row(
        {"order_id": "fulfilled_order"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  302+   404    404    404    404    404",
    ),
    "order_refund_request": Row(
        {"order_id": "paid_order"},
        body={"reason": "damaged", "scope": "whole"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  302+   404    404    404    404    404",
    ),
    # Saved cards live on the user's own Stripe Customer: another user's card is answered as a card no
    # longer saved (back to their cards page with one sentence, the same as for a card of their own
    # removed meanwhile: it tells nothing). Adding one makes a Customer for a user who never paid (a
    # row); a new default counts the buyer's card changes.
    "saved_cards": Row(
        GET=                              "login  200    200    200    200    200    200",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "saved_card_add": Row(
        body={"attempt": "1" * 32},  # the page's token, as its form sends it (without one nothing is started)
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  303    303+   303+   303+   303+   303+",
    ),
    "saved_card_added": Row(
        query={"session_id": "paid_session"},
        GET=                              "login  404    404    404    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "saved_card_default": Row(
        {"payment_method": "buyer_card"},
        body={"attempt": "0" * 32},  # the page's token, as its form sends it (without one nothing is asked)
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  302+   302    302    302    302    302",
    ),
    "saved_card_remove": Row(
        {"payment_method": "buyer_card"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  302    302    302    302    302    302",
    ),
    "buy_now": Row(
        {"listing_id": "listing"},
        body={
            "payment_method": Ref("buyer_card"),
            "price": Ref("listing_price"),
            "currency": Ref("listing_currency"),
            "attempt": "2" * 32,
        },
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  302+   302    302    302    302    302",
    ),
    "buy_now_return": Row(
        query={"order": "paid_order", "payment_intent": "paid_session"},
        GET=                              "login  404    404    404    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "buy_now_resume": Row(  # the world's pending order was made by Checkout, not Buy now: not found for anyone
        {"order_id": "pending_order"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    404    404    404    404",
    ),
    # Subscriptions: "Subscribe" exists only for a listing sold by subscription (the world's is sold once);
    # the buyer's own list and Stripe's portal for their own Customer (none yet: a sentence, no row);
    # a Checkout session that is not a subscription of theirs is not found.
    "subscribe": Row(  # a listing sold once: back to its page with a sentence, nothing written
        {"listing_id": "listing"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  302    302    302    302    302    302",
    ),
    "my_subscriptions": Row(
        GET=                              "login  200    200    200    200    200    200",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "subscription_started": Row(
        query={"session_id": "paid_session"},
        GET=                              "login  404    404    404    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "manage_billing": Row(
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  303    302    302    302    302    302",
    ),
    # The seller's subscribers and MRR, and how each of its listings is sold: its own shop only.
    "sell_subscriptions": Row(
        GET=                              "login  404    404    200    200    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_subscription_plan": Row(
        {"listing_id": "listing"},
        body={"interval": "month"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302+   404    404    404",
    ),
    # Ending a subscriber's subscription at its period end (or undoing it): its shop's seller only.
    # The world's subscription is not at Stripe, so the seller's request is refused in a sentence.
    "sell_subscription_end": Row(
        {"subscription_id": "subscription"},
        body={"action": "end"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302    404    404    404",
    ),
    # A subscription payment's page and its refund: its shop's seller only (more than is left is
    # refused in a sentence, nothing written); the admins refund one from the console.
    "sell_subscription_payment": Row(
        {"invoice_id": "sub_payment"},
        GET=                              "login  404    404    200    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_subscription_refund": Row(
        {"invoice_id": "sub_payment"},
        body={"amount": "99999", "form_token": "a" * 32},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302    404    404    404",
    ),
    # The Sell area: the signed-in user's own shop; another shop's listing or order is a 404.
    "sell_home": Row(
        GET=                              "login  200    200    200    200    200    200",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_start": Row(
        body={"shop_name": "New shop", "country": "US", "default_currency": "usd"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  302+   302+   302    302    302+   302+",
    ),
    "sell_onboarding_continue": Row(
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  302    302    302    302    302    302",
    ),
    "sell_onboarding_refresh": Row(
        {"seller_id": "seller"},
        GET=                              "login  404    404    302    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_onboarding_return": Row(
        {"seller_id": "seller"},
        GET=                              "login  404    404    302+   404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_dashboard": Row(
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  302    302    302    302    302    302",
    ),
    "sell_listings": Row(
        GET=                              "login  302    302    200    200    302    302",
        POST=                             "login  302    302    200    200    302    302",
    ),
    "sell_listing_new": Row(
        body=LISTING_FORM,
        GET=                              "login  404    404    200    200    404    404",
        POST=                             "login  404    404    302+   302+   404    404",
    ),
    "sell_listing_edit": Row(
        {"listing_id": "listing"},
        body=LISTING_FORM,
        GET=                              "login  404    404    200    404    404    404",
        POST=                             "login  404    404    302+   404    404    404",
    ),
    "sell_listing_publish": Row(
        {"listing_id": "draft_listing"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302+   404    404    404",
    ),
    "sell_listing_unpublish": Row(
        {"listing_id": "listing"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302+   404    404    404",
    ),
    "sell_listing_image_remove": Row(
        {"listing_id": "listing", "image_id": "image"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302+   404    404    404",
    ),
    "sell_orders": Row(
        GET=                              "login  404    404    200    200    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_order_detail": Row(
        {"order_id": "paid_order"},
        GET=                              "login  404    404    200    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_order_fulfil": Row(
        {"order_id": "paid_order"},
        body={"tracking_number": "ZX-NEW-1"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302+   404    404    404",
    ),
    # Refunds: the world's orders have no payment, so a refund is refused (a sentence, nothing written).
    "sell_order_refund": Row(
        {"order_id": "paid_order"},
        body={"reason": "Goodwill"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302    404    404    404",
    ),
    "sell_refund_requests": Row(
        GET=                              "login  404    404    200    200    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_refund_request_approve": Row(
        {"request_id": "refund_request"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302    404    404    404",
    ),
    "sell_refund_request_decline": Row(
        {"request_id": "refund_request"},
        body=REASON,
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302+   404    404    404",
    ),
    # The seller's money: each shop its own; a payout of another shop does not exist.
    "sell_money": Row(  # a read of the balance from Stripe is kept as the console's figure (AvailableBalance)
        GET=                              "login  404    404    200+   200+   404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_payout_schedule": Row(
        body={"interval": "daily", "form_token": "matrix"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302+   302+   404    404",
    ),
    "sell_payout_now": Row(
        body={"currency": "usd", "form_token": "matrix"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302+   302+   404    404",
    ),
    "sell_statement": Row(
        query={"start": "statement_start", "end": "statement_end"},
        GET=                              "login  404    404    200    200    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_statement_page": Row(
        query={"start": "statement_start", "end": "statement_end"},
        GET=                              "login  404    404    200    200    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_payouts": Row(
        GET=                              "login  404    404    200    200    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_payout_detail": Row(
        {"payout_id": "payout"},
        GET=                              "login  404    404    200    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    # The console: platform admins only; to everyone else it does not exist (staff included).
    "console_home": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    200    404",
    ),
    "console_group_transfer_retry": Row(
        {"order_id": "paid_order"},  # a transfer that did not fail: refused with a sentence, nothing written
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302    404",
    ),
    "console_sellers": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_seller_detail": Row(
        {"seller_id": "seller"},
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_seller_pause": Row(
        {"seller_id": "seller"},
        body=REASON,
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    "console_seller_unpause": Row(
        {"seller_id": "paused_seller"},
        body=REASON,
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    "console_seller_refresh": Row(
        {"seller_id": "seller"},
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    "console_refunds": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_refund_request_approve": Row(
        {"request_id": "refund_request"},
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    422    404",
    ),
    "console_refund_request_decline": Row(
        {"request_id": "refund_request"},
        body=REASON,
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    "console_order_refund": Row(
        body={"order_id": Ref("paid_order"), "from_seller": "on"},
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    422    404",
    ),
    "console_subscription_refund": Row(  # more than was paid: refused in a sentence, nothing written
        body={"stripe_id": "in_CANARYSUBINVOICE", "amount": "99999", "from_seller": "on"},
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    422    404",
    ),
    "console_fees": Row(
        body={"currency": "usd", "percent": "7", "fixed": "0.10"},
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    "console_fee_rule_delete": Row(
        {"rule_id": "fee_rule"},
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    "console_revenue": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    200    404",
    ),
    "console_negative_balances": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_ledger": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_ledger_csv": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_reconciliation": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    200    404",
    ),
    "console_refund_attention_handled": Row(  # no refund to look at: 404, as for everyone else
        {"refund_id": "missing_id"},
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    404    404",
    ),
    "console_reconciliation_run": Row(  # no token: refused in words, nothing written
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302    404",
    ),
    "console_revenue_csv": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    200    404",
    ),
    "console_events": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_event_detail": Row(
        {"event_id": "event"},
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_event_replay": Row(
        {"event_id": "event"},
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    "console_disputes": Row(
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_dispute_detail": Row(
        {"dispute_id": "dispute"},
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_dispute_evidence": Row(
        {"dispute_id": "dispute"},
        body={"product_description": "Matrix evidence", "action": "draft"},
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    "console_dispute_file": Row(
        {"dispute_id": "dispute"},
        upload=True,
        upload_field="file",
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    "console_dispute_file_download": Row(
        {"dispute_id": "dispute", "file_id": "dispute_file"},
        GET=                              "login  404    404    404    404    200    404",
        POST=                             "login  404    404    404    404    405    404",
    ),
    "console_dispute_file_field": Row(
        {"dispute_id": "dispute", "file_id": "dispute_file"},
        body={"evidence_field": "shipping_documentation"},
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    "console_dispute_accept": Row(
        {"dispute_id": "dispute"},
        GET=                              "login  404    404    404    404    405    404",
        POST=                             "login  404    404    404    404    302+   404",
    ),
    # A seller's disputes: its own only; the others' do not exist for it.
    "sell_disputes": Row(
        GET=                              "login  404    404    200    200    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_dispute_detail": Row(
        {"dispute_id": "dispute"},
        GET=                              "login  404    404    200    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    "sell_dispute_statement": Row(
        {"dispute_id": "dispute"},
        body={"statement": "Matrix statement"},
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302+   404    404    404",
    ),
    "sell_dispute_file": Row(
        {"dispute_id": "dispute"},
        upload=True,
        upload_field="file",
        GET=                              "login  405    405    405    405    405    405",
        POST=                             "login  404    404    302+   404    404    404",
    ),
    # A proof file: only the shop the dispute names downloads its own; admins use the console's.
    "sell_dispute_file_download": Row(
        {"dispute_id": "dispute", "file_id": "dispute_file"},
        GET=                              "login  404    404    200    404    404    404",
        POST=                             "login  405    405    405    405    405    405",
    ),
    # Platform endpoints: Stripe's (a signature decides, not a role), health, the API's documents.
    "stripe_webhook": Row(GET=same("405"), POST=same("400")),
    "stripe_connect_webhook": Row(GET=same("405"), POST=same("400")),
    "healthz": Row(GET=same("200"), POST=same("405")),
    "favicon": Row(GET=same("301"), POST=same("301")),
    "api-v1:openapi-json": Row(GET=same("200"), POST=same("200")),
    "api-v1:openapi-view": Row(GET=same("200"), POST=same("200")),
    "api-v1:api-root": Row(GET=same("404"), POST=same("404")),
}
# fmt: on

# fmt: off
# allauth's pages act on the signed-in user only (or on a key mailed to someone): no one else's object.
#                                          anon   buyer  o.buyer seller o.sell admin  staff
SIGNED_IN_200 =                           "login  200    200    200    200    200    200"
SIGNED_IN_302 =                           "login  302    302    302    302    302    302"
SIGNED_IN_404 =                           "login  404    404    404    404    404    404"
SIGNED_IN_405 =                           "login  405    405    405    405    405    405"
ANONYMOUS_ONLY =                          "200    302    302    302    302    302    302"
ACCOUNT_PAGES: dict[str, Row] = {
    "account_login": Row(GET=ANONYMOUS_ONLY, POST=ANONYMOUS_ONLY),
    "account_signup": Row(GET=ANONYMOUS_ONLY, POST=ANONYMOUS_ONLY),
    "account_logout": Row(
        GET=                              "302    200    200    200    200    200    200",
        POST=same("302"),
    ),
    "account_inactive": Row(GET=same("200"), POST=same("405")),
    # Staff without an authenticator app re-authenticate by an emailed code only (marketplace.mfa_enrolment).
    "account_reauthenticate": Row(
        GET=                              "login  200    200    200    200    302    302",
        POST=                             "login  200    200    200    200    302    302",
    ),
    "account_request_reauthentication_code": Row(GET=SIGNED_IN_200, POST=SIGNED_IN_200),
    "account_confirm_reauthentication_code": Row(GET=SIGNED_IN_302, POST=SIGNED_IN_302),
    "account_email": Row(GET=SIGNED_IN_200, POST=SIGNED_IN_302),
    "account_email_verification_sent": Row(GET=same("200"), POST=same("405")),
    "account_change_password": Row(GET=SIGNED_IN_200, POST=SIGNED_IN_200),
    "account_set_password": Row(GET=SIGNED_IN_302, POST=SIGNED_IN_302),
    "account_reset_password": Row(GET=same("200"), POST=same("200")),
    "account_reset_password_done": Row(GET=same("200"), POST=same("405")),
    "account_reset_password_from_key": Row(
        {"uidb36": "buyer_uidb36", "key": "bogus_key"}, GET=same("200"), POST=same("200")
    ),
    "account_reset_password_from_key_done": Row(GET=same("200"), POST=same("405")),
    "account_confirm_login_code": Row(GET=SIGNED_IN_302, POST=SIGNED_IN_302),
    "account_confirm_email": Row({"key": "bogus_key"}, GET=same("200"), POST=same("404")),
    "mfa_index": Row(GET=SIGNED_IN_200, POST=SIGNED_IN_405),
    "mfa_authenticate": Row(GET=SIGNED_IN_302, POST=SIGNED_IN_302),
    "mfa_reauthenticate": Row(GET=SIGNED_IN_302, POST=SIGNED_IN_302),
    "mfa_activate_totp": Row(GET=SIGNED_IN_302, POST=SIGNED_IN_302),
    "mfa_deactivate_totp": Row(GET=SIGNED_IN_404, POST=SIGNED_IN_404),
    "mfa_view_recovery_codes": Row(GET=SIGNED_IN_404, POST=SIGNED_IN_405),
    "mfa_generate_recovery_codes": Row(GET=SIGNED_IN_302, POST=SIGNED_IN_302),
    "mfa_download_recovery_codes": Row(GET=SIGNED_IN_404, POST=SIGNED_IN_404),
}
# fmt: on

# fmt: off
# Django's admin is for superusers, and none of the roles is one: staff without model permissions
# (platform admins included: they use the console) see an empty index and a 403 on every model page.
#                                          anon   buyer  o.buyer seller o.sell admin  staff
STAFF_403 =                               "login  login  login  login  login  403    403"
ADMIN_SITE_PAGES: dict[str, Row] = {
    "admin:index": Row(
        GET=                              "login  login  login  login  login  200    200",
        POST=                             "login  login  login  login  login  200    200",
    ),
    # Its own login form took the password alone (no authenticator code): it sends to the site's.
    "admin:login": Row(
        GET=                              "login  403    403    403    403    302    302",
        POST=                             "login  403    403    403    403    200    200",
    ),
    "admin:logout": Row(
        GET=                              "302    302    302    302    302    405    405",
        POST=                             "302    302    302    302    302    200    200",
    ),
    "admin:password_change": Row(
        GET=                              "login  login  login  login  login  200    200",
        POST=                             "login  login  login  login  login  200    200",
    ),
    "admin:password_change_done": Row(
        GET=                              "login  login  login  login  login  200    200",
        POST=                             "login  login  login  login  login  405    405",
    ),
    "admin:autocomplete": Row(
        GET=STAFF_403,
        POST=                             "login  login  login  login  login  405    405",
    ),
    "admin:jsi18n": Row(
        GET=                              "login  login  login  login  login  200    200",
        POST=                             "login  login  login  login  login  405    405",
    ),
    "admin:view_on_site": Row(
        {"content_type_id": "order_content_type", "object_id": "paid_order"},
        GET=                              "login  login  login  login  login  404    404",
        POST=                             "login  login  login  login  login  404    404",
    ),
    "admin:app_list": Row(
        {"app_label": "admin_app_label"},
        GET=                              "login  login  login  login  login  404    404",
        POST=                             "login  login  login  login  login  404    404",
    ),
    "django-admin/(?P<url>.*)$": Row(
        {"url": "no_such_page"},
        GET=                              "login  login  login  login  login  404    404",
        POST=                             "login  login  login  login  login  404    404",
    ),
}
# For every model registered in the admin, on an id no row has (the rule is the same whatever the
# model, and not every model has rows here); the history page looks the object up before the
# permissions, so a missing one is a redirect to the index, with a message and nothing else.
STAFF_302 =                               "login  login  login  login  login  302    302"
ADMIN_MODEL_PAGES: dict[str, Row] = {
    "changelist": Row(GET=STAFF_403, POST=STAFF_403),
    "add": Row(GET=STAFF_403, POST=STAFF_403),
    "history": Row({"object_id": "missing_id"}, GET=STAFF_302, POST=STAFF_302),
    "delete": Row({"object_id": "missing_id"}, GET=STAFF_403, POST=STAFF_403),
    "change": Row({"object_id": "missing_id"}, GET=STAFF_403, POST=STAFF_403),
    "": Row({"object_id": "missing_id"}, GET=STAFF_302, POST=STAFF_302),  # old-style URL: to the change page
}
# And the private rows of the world, by name.
ADMIN_ROW_PAGES: dict[str, Row] = {
    "admin:orders_order_change[row]": Row({"object_id": "paid_order"}, GET=STAFF_403, POST=STAFF_403),
    "admin:orders_order_history[row]": Row({"object_id": "fulfilled_order"}, GET=STAFF_403, POST=STAFF_403),
    "admin:orders_order_delete[row]": Row({"object_id": "pending_order"}, GET=STAFF_403, POST=STAFF_403),
    "admin:sellers_seller_change[row]": Row({"object_id": "seller"}, GET=STAFF_403, POST=STAFF_403),
    "admin:sellers_seller_history[row]": Row({"object_id": "paused_seller"}, GET=STAFF_403, POST=STAFF_403),
    "admin:catalog_listing_change[row]": Row({"object_id": "draft_listing"}, GET=STAFF_403, POST=STAFF_403),
    "admin:fees_feerule_delete[row]": Row({"object_id": "fee_rule"}, GET=STAFF_403, POST=STAFF_403),
    "admin:webhooks_webhookevent_change[row]": Row({"object_id": "event"}, GET=STAFF_403, POST=STAFF_403),
}
# fmt: on


def _admin_rows() -> dict[str, Row]:
    rows = {**ADMIN_SITE_PAGES, **ADMIN_ROW_PAGES}
    for model in admin.site._registry:
        label, name = model._meta.app_label, model._meta.model_name
        for suffix, row in ADMIN_MODEL_PAGES.items():
            key = f"admin:{label}_{name}_{suffix}" if suffix else f"django-admin/{label}/{name}/<path:object_id>/"
            rows[key] = row
    return rows


# API operations. Key: "METHOD path" as in the OpenAPI document. Every other method on each path is
# tried too, and must be a 405 for everyone.
LISTING_IN = {"title": "New mug", "description": "", "price": 1200, "stock": 2, "category": "ceramics"}
# fmt: off
#                                          anon   buyer  o.buyer seller o.sell admin  staff
SIGNED_IN =                               "401    200    200    200    200    200    200"
SELLERS =                                 "401    404    404    200    200    404    404"
CONSOLE_403 =                             "401    403    403    403    403    200    403"
API: dict[str, Row] = {
    "GET /api/v1/me": Row(GET=SIGNED_IN),
    "GET /api/v1/seller/": Row(GET=SELLERS),
    "POST /api/v1/seller/": Row(  # opens a shop for whoever has none; a seller's own is a 409
        body={"shop_name": "Matrix Kiln", "country": "JP"},
        POST=                             "401    201+   201+   409    409    201+   201+",
    ),
    "POST /api/v1/seller/onboarding-link": Row(
        POST=                             "401    404    404    200    200    404    404",
    ),
    "POST /api/v1/seller/dashboard-link": Row(
        POST=                             "401    404    404    200    200    404    404",
    ),
    "GET /api/v1/console/revenue": Row(GET=CONSOLE_403),
    "GET /api/v1/seller/balance": Row(GET="401    404    404    200+   200+   404    404"),  # as the Money page
    "GET /api/v1/seller/payouts": Row(GET=SELLERS),
    "GET /api/v1/seller/payouts/{payout_id}": Row(
        {"payout_id": "payout"},
        GET=                              "401    404    404    200    404    404    404",
    ),
    "GET /api/v1/listings": Row(query={"q": "draft_words"}, GET=same("200")),
    "GET /api/v1/listings/{listing_id}": Row({"listing_id": "listing"}, GET=same("200")),
    "GET /api/v1/listings/{listing_id}[draft]": Row({"listing_id": "draft_listing"}, GET=same("404")),
    "GET /api/v1/seller/listings": Row(GET=SELLERS),
    "POST /api/v1/seller/listings": Row(
        body=LISTING_IN,
        POST=                             "401    404    404    201+   201+   404    404",
    ),
    "PATCH /api/v1/seller/listings/{listing_id}": Row(
        {"listing_id": "listing"},
        body={"stock": 1},
        PATCH=                            "401    404    404    200+   404    404    404",
    ),
    "POST /api/v1/seller/listings/{listing_id}/publish": Row(
        {"listing_id": "draft_listing"},
        POST=                             "401    404    404    200+   404    404    404",
    ),
    "POST /api/v1/seller/listings/{listing_id}/unpublish": Row(
        {"listing_id": "listing"},
        POST=                             "401    404    404    200+   404    404    404",
    ),
    "POST /api/v1/seller/listings/{listing_id}/images": Row(
        {"listing_id": "listing"},
        upload=True,
        POST=                             "401    404    404    201+   404    404    404",
    ),
    "GET /api/v1/cart": Row(GET=same("200")),
    # The listing is the seller's own, which it cannot buy: a 422 once its (empty) cart is made.
    "POST /api/v1/cart/items": Row(
        body={"listing_id": Ref("listing"), "quantity": 1},
        POST=                             "201+   201+   201+   422+   201+   201+   201+",
    ),
    "PATCH /api/v1/cart/items/{item_id}": Row(
        {"item_id": "cart_item"},
        body={"quantity": 4},
        PATCH=                            "404    200+   404    404    404    404    404",
    ),
    "DELETE /api/v1/cart/items/{item_id}": Row(
        {"item_id": "cart_item"},
        DELETE=                           "404    200+   404    404    404    404    404",
    ),
    "POST /api/v1/checkout": Row(
        body={"seller_id": Ref("seller"), "currency": "usd"},
        POST=                             "401    201+   404    404    404    404    404",
    ),
    "GET /api/v1/orders": Row(GET=SIGNED_IN),
    "GET /api/v1/orders/{order_id}": Row(
        {"order_id": "paid_order"},
        GET=                              "401    200    404    200    404    404    404",
    ),
    "POST /api/v1/orders/{order_id}/refund-requests": Row(
        {"order_id": "paid_order"},
        body={"reason": "damaged", "note": "", "lines": None},
        POST=                             "401    201+   404    404    404    404    404",
    ),
    "GET /api/v1/seller/refund-requests": Row(GET=SELLERS),
    "POST /api/v1/seller/refund-requests/{request_id}/approve": Row(
        {"request_id": "refund_request"},
        body={"amount": None, "restock": False},
        POST=                             "401    404    404    409    404    404    404",
    ),
    "POST /api/v1/seller/refund-requests/{request_id}/decline": Row(
        {"request_id": "refund_request"},
        body={"reason": "Used already"},
        POST=                             "401    404    404    200+   404    404    404",
    ),
    "POST /api/v1/seller/orders/{order_id}/refunds": Row(
        {"order_id": "paid_order"},
        body={"amount": None, "lines": None, "reason": "Goodwill", "restock": False},
        POST=                             "401    404    404    409    404    404    404",
    ),
    "GET /api/v1/seller/orders": Row(GET=SELLERS),
    "GET /api/v1/console/disputes": Row(GET=CONSOLE_403),
    "GET /api/v1/console/disputes/{dispute_id}": Row({"dispute_id": "dispute"}, GET=CONSOLE_403),
    "PUT /api/v1/console/disputes/{dispute_id}/evidence": Row(
        {"dispute_id": "dispute"},
        body={"product_description": "Matrix evidence"},
        PUT=                              "401    403    403    403    403    422+   403",
    ),
    "POST /api/v1/console/disputes/{dispute_id}/files": Row(
        {"dispute_id": "dispute"},
        upload=True,
        upload_field="file",
        POST=                             "401    403    403    403    403    201+   403",
    ),
    "PATCH /api/v1/console/disputes/{dispute_id}/files/{file_id}": Row(
        {"dispute_id": "dispute", "file_id": "dispute_file"},
        body={"evidence_field": "customer_communication"},
        PATCH=                            "401    403    403    403    403    200+   403",
    ),
    # The world's dispute is not at Stripe: Stripe's refusal is a 422 after the checks.
    "POST /api/v1/console/disputes/{dispute_id}/submit": Row(
        {"dispute_id": "dispute"},
        POST=                             "401    403    403    403    403    422+   403",
    ),
    "POST /api/v1/console/disputes/{dispute_id}/accept": Row(
        {"dispute_id": "dispute"},
        POST=                             "401    403    403    403    403    422+   403",
    ),
    "GET /api/v1/seller/disputes": Row(GET=SELLERS),
    "PUT /api/v1/seller/disputes/{dispute_id}/statement": Row(
        {"dispute_id": "dispute"},
        body={"statement": "Matrix statement"},
        PUT=                              "401    404    404    200+   404    404    404",
    ),
    "POST /api/v1/seller/disputes/{dispute_id}/files": Row(
        {"dispute_id": "dispute"},
        upload=True,
        upload_field="file",
        POST=                             "401    404    404    201+   404    404    404",
    ),
    "POST /api/v1/seller/orders/{order_id}/fulfil": Row(
        {"order_id": "paid_order"},
        body={"tracking_number": "ZX-NEW-2"},
        POST=                             "401    404    404    200+   404    404    404",
    ),
}
# fmt: on


# --- Discovery: what the project serves -------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    key: str
    route: str
    name: str | None  # for reverse(); None when the pattern has no name

    @property
    def api_path(self) -> str:
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.route)


def _walk(patterns: list[Any], prefix: str = "", namespace: str | None = None) -> Iterator[Endpoint]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            name = f"{namespace}:{p.name}" if namespace and p.name else p.name
            yield Endpoint(key=name or route, route=route, name=name)


def _is_probe(operation_id: str) -> bool:
    """Operations that test modules add to the project's API at import (tests/marketplace/test_api.py)."""
    return operation_id.startswith("tests_")


def api_operations() -> set[str]:
    """Every "METHOD /path" of the OpenAPI document, test probes left out."""
    paths = api.get_openapi_schema()["paths"].items()
    return {f"{m.upper()} {path}" for path, item in paths for m, op in item.items() if not _is_probe(op["operationId"])}


def _api_paths() -> tuple[set[str], set[str]]:
    """(paths of the project's operations, paths of test probes only)."""
    documented, probes = set(), set()
    for path, item in api.get_openapi_schema()["paths"].items():
        (probes if all(_is_probe(op["operationId"]) for op in item.values()) else documented).add(path)
    return documented, probes


def page_endpoints() -> list[Endpoint]:
    """Every URL pattern but the API operations' (those are checked through the OpenAPI document)."""
    documented, probes = _api_paths()
    return [e for e in _walk(get_resolver().url_patterns) if e.key in PAGES or e.api_path not in documented | probes]


def table() -> dict[str, Row]:
    return {**PAGES, **ACCOUNT_PAGES, **_admin_rows()}


def _base_key(key: str) -> str:
    return key.split("[", 1)[0]


def test_every_endpoint_has_an_entry() -> None:
    pages = {e.key for e in page_endpoints()}
    rows = {_base_key(k) for k in table()}
    assert pages - rows == set(), "pages without an entry in the authorization table"
    assert rows - pages == set(), "entries for pages that no longer exist"
    # A page is always tried with a changing request too, whatever methods it means to take.
    assert [k for k, row in table().items() if not {"GET", "POST"} <= set(row.outcomes())] == []
    operations = api_operations()
    api_rows = {_base_key(k) for k in API}
    assert operations - api_rows == set(), "API operations without an entry in the authorization table"
    assert api_rows - operations == set(), "entries for API operations that no longer exist"


# --- The world ----------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, Any]
    objects: dict[str, str]
    canaries: dict[str, frozenset[str]]  # private text -> the roles allowed to see it


def _onboarded_seller(sandbox: Any, user: Any, shop: str) -> Seller:
    seller = seller_create(user=user, shop_name=shop, country="US", default_currency="usd")
    submit_onboarding(sandbox, seller)
    seller_refresh_from_stripe(seller=seller)
    assert seller.charges_enabled
    return seller


def _order(buyer: Any, listing: Listing, line_title: str, status: str, **fields: Any) -> Order:
    order = Order.objects.create(
        buyer=buyer,
        seller=listing.seller,
        status=status,
        currency="usd",
        amount_total=2500,
        application_fee_amount=280,
        cart_fingerprint="f" * 64,
        **fields,
    )
    OrderLine.objects.create(
        order=order, listing=listing, title=line_title, unit_amount=2500, quantity=1, fee_amount=280
    )
    return order


def build_world(sandbox: Any) -> World:
    """Two buyers, two sellers onboarded on the sandbox, a platform admin, a staff user; and what they own."""
    Group.objects.get_or_create(name="platform admins")  # a transactional test's flush may have removed them
    if not FeeRule.objects.filter(seller=None, category=None, currency="usd").exists():
        fee_rule_set(currency="usd", basis_points=1000, fixed_amount=30)
    users = {
        "buyer": UserFactory(email="ada.canary@example.com"),
        "other_buyer": UserFactory(email="bea.canary@example.com"),
        "seller": UserFactory(email="cy.canary@example.com"),
        "other_seller": UserFactory(email="dee.canary@example.com"),
        "admin": make_platform_admin(email="eve.canary@example.com"),
        "staff": UserFactory(email="fay.canary@example.com", is_staff=True),
    }
    seller = _onboarded_seller(sandbox, users["seller"], "Rosen Ceramics")
    other_seller = _onboarded_seller(sandbox, users["other_seller"], "Kyoto Paper")
    category = CategoryFactory(name="Ceramics", slug="ceramics")
    listing = ListingFactory(seller=seller, category=category, title="Blue mug")
    image = catalog_services.listing_image_add(listing=listing, upload=png_upload())
    draft = ListingFactory(
        seller=seller, category=category, title="Draft vase CANARYDRAFT", status=ListingStatus.DRAFT, published_at=None
    )
    other_listing = ListingFactory(seller=other_seller, category=category, title="Paper lamp")
    cart_item = CartItem.objects.create(cart=Cart.objects.create(user=users["buyer"]), listing=listing, quantity=1)
    CartItem.objects.create(cart=Cart.objects.create(user=users["other_buyer"]), listing=other_listing, quantity=1)

    now = timezone.now()
    buyer, line = users["buyer"], "Blue mug CANARYLINE1"
    pending = _order(buyer, listing, line, OrderStatus.PENDING_PAYMENT)
    paid = _order(buyer, listing, line, OrderStatus.PAID, checkout_session_id="cs_test_CANARYSESSION", paid_at=now)
    shipped = {"paid_at": now, "fulfilled_at": now}
    fulfilled = _order(buyer, listing, line, OrderStatus.FULFILLED, tracking_number="CANARYTRACK1", **shipped)
    other = users["other_buyer"]
    _order(
        other, other_listing, "Paper lamp CANARYLINE2", OrderStatus.FULFILLED, tracking_number="CANARYTRACK2", **shipped
    )

    refund_request = RefundRequest.objects.create(
        order=fulfilled, reason="damaged", note="Cracked CANARYREFUNDNOTE", whole_order=True, amount=2500
    )

    seller_pause(seller=seller, actor=users["admin"], reason="CANARYNOTE checking a complaint")
    seller_unpause(seller=seller, actor=users["admin"], reason="CANARYNOTE complaint was unfounded")
    paused = SellerFactory(shop_name="Paused shop")
    seller_pause(seller=paused, actor=users["admin"], reason="CANARYNOTE counterfeit goods reported")
    rule = fee_rule_set(currency="usd", basis_points=700, fixed_amount=0, seller=seller, actor=users["admin"])
    event = WebhookEvent.objects.create(
        id="evt_CANARYEVENT",
        type="account.updated",
        source=WebhookEvent.Source.CONNECT,
        account=str(seller.stripe_account_id),
        created=int(now.timestamp()),
        payload={"id": "evt_CANARYEVENT", "type": "account.updated", "data": {"object": {"note": "CANARYPAYLOAD"}}},
        status=WebhookEvent.Status.DEAD,
    )

    dispute = Dispute.objects.create(
        stripe_id="dp_CANARYDISPUTE",
        stripe_charge_id="ch_CANARYDISPUTE",
        order=paid,
        seller=seller,
        amount=2500,
        currency="usd",
        reason="fraudulent",
        status="needs_response",
        due_by=now + timedelta(days=6),
        stripe_created_at=now,
        seller_statement="CANARYSTATEMENT the mug was delivered",
    )
    proof = DisputeFile.objects.create(
        dispute=dispute,
        side="seller",
        evidence_field="receipt",
        file=ContentFile(b"%PDF-1.4 matrix", name="receipt.pdf"),
        filename="receipt.pdf",
        content_type="application/pdf",
        size=15,
        uploaded_by=users["seller"],
    )
    # A card saved on the buyer's Stripe Customer (the matrix removes it last, as the buyer).
    buyer_card = (
        client_for(sandbox)
        .v1.setup_intents.create(
            params={
                "customer": buyer_customer_ensure(user=users["buyer"]),
                "payment_method": "pm_card_visa",
                "confirm": True,
                "return_url": "https://shop.example/return",
            }
        )
        .payment_method
    )

    payout = Payout.objects.create(
        stripe_id="po_CANARYPAYOUT",
        account=str(seller.stripe_account_id),
        amount=1_234,
        currency="usd",
        status=PayoutStatus.IN_TRANSIT,
        arrival_date=now,
        created_at=now,
    )

    sub = Subscription.objects.create(
        buyer=buyer,
        seller=seller,
        listing=listing,
        stripe_subscription_id="sub_CANARYSUB",
        status="active",
        title="Blue mug monthly",
        amount=2500,
        currency="usd",
        interval="month",
        application_fee_basis_points=1000,
    )
    sub_payment = Payment.objects.create(
        stripe_payment_intent_id="pi_CANARYSUB",
        stripe_charge_id="ch_CANARYSUB",
        currency="usd",
        amount=2500,
        created_at=now,
    )
    sub_invoice = SubscriptionInvoice.objects.create(
        subscription=sub,
        stripe_invoice_id="in_CANARYSUBINVOICE",
        status="paid",
        amount_due=2500,
        amount_paid=2500,
        currency="usd",
        payment=sub_payment,
        created_at=now,
    )

    objects = {
        "sub_payment": str(sub_invoice.pk),
        "subscription": str(sub.pk),
        "payout": str(payout.pk),
        "statement_start": str(now.date()),
        "statement_end": str(now.date()),
        "dispute": str(dispute.pk),
        "dispute_file": str(proof.pk),
        "category": category.slug,
        "category_pk": str(category.pk),
        "seller": str(seller.pk),
        "paused_seller": str(paused.pk),
        "listing": str(listing.pk),
        "listing_price": str(listing.price),
        "listing_currency": listing.currency,
        "draft_listing": str(draft.pk),
        "draft_words": "Draft vase",
        "image": str(image.pk),
        "cart_item": str(cart_item.pk),
        "pending_order": str(pending.pk),
        "paid_order": str(paid.pk),
        "paid_session": str(paid.checkout_session_id),
        "fulfilled_order": str(fulfilled.pk),
        "refund_request": str(refund_request.pk),
        "fee_rule": str(rule.pk),
        "buyer_card": buyer_card,
        "event": event.pk,
        "order_content_type": str(ContentType.objects.get_for_model(Order).pk),
        "buyer_uidb36": int_to_base36(buyer.pk),
        "bogus_key": "MQ:1abcde:bogus",
        "no_such_page": "no/such/page/",
        "missing_id": "0",
        "admin_app_label": "orders",
    }
    canaries = {
        # A seller sees the email of whoever bought from it; the console shows sellers' emails.
        "ada.canary@": frozenset({"buyer", "seller", "admin"}),  # the admin reads a disputed order
        "bea.canary@": frozenset({"other_buyer", "other_seller"}),
        "cy.canary@": frozenset({"seller", "admin"}),
        "dee.canary@": frozenset({"other_seller", "admin"}),
        "eve.canary@": frozenset({"admin"}),
        "fay.canary@": frozenset({"staff"}),
        "CANARYDRAFT": frozenset({"seller"}),
        "CANARYLINE1": frozenset({"buyer", "seller", "admin"}),
        "CANARYLINE2": frozenset({"other_buyer", "other_seller"}),
        "CANARYTRACK1": frozenset({"buyer", "seller"}),
        "CANARYTRACK2": frozenset({"other_buyer", "other_seller"}),
        "CANARYREFUNDNOTE": frozenset({"buyer", "seller"}),
        "CANARYSESSION": frozenset(),
        "CANARYEVENT": frozenset({"admin"}),
        "CANARYPAYLOAD": frozenset({"admin"}),
        "CANARYNOTE": frozenset({"admin"}),
        "CANARYPAYOUT": frozenset({"seller"}),
        "CANARYSTATEMENT": frozenset({"seller", "admin"}),
        str(seller.stripe_account_id): frozenset({"seller", "admin"}),
        str(other_seller.stripe_account_id): frozenset({"other_seller", "admin"}),
    }
    return World(users=users, objects=objects, canaries=canaries)


# --- Making the requests ------------------------------------------------------------------------------


def _written_rows() -> dict[str, int]:
    """Rows inserted, updated or deleted so far in this transaction, per table: Postgres's own counters,
    which only grow (a write rolled back to a savepoint still counts)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables")
        return {name: int(n) for name, n in cursor.fetchall() if name not in EXCLUDED_TABLES}


def _resolve(value: Any, world: World, *, as_json: bool) -> Any:
    if isinstance(value, Ref):
        found = world.objects[value.name]
        return int(found) if as_json else found
    return value


def _query(row: Row, world: World) -> str:
    return "?" + urlencode({k: world.objects[v] for k, v in row.query.items()}) if row.query else ""


def _page_url(endpoint: Endpoint, row: Row, world: World) -> str:
    kwargs = {param: world.objects[name] for param, name in row.objects.items()}
    if endpoint.name:
        return reverse(endpoint.name, kwargs=kwargs or None) + _query(row, world)
    route = endpoint.route  # the admin's unnamed patterns
    for param, value in kwargs.items():
        route = re.sub(rf"<(?:\w+:)?{param}>|\(\?P<{param}>[^)]*\)", value, route)
    return "/" + route.replace("^", "").replace("$", "") + _query(row, world)


def _api_url(key: str, row: Row, world: World) -> str:
    path = _base_key(key).split(" ", 1)[1]
    for param, name in row.objects.items():
        path = path.replace("{" + param + "}", world.objects[name])
    return path + _query(row, world)


def _outcome(response: Any) -> str:
    redirect = response.status_code in (301, 302, 303, 307, 308)
    if redirect and response["Location"].startswith(("/accounts/login/", "/django-admin/login/")):
        return "login"
    return str(response.status_code)


@dataclass
class Findings:
    wrong_status: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    actual: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    mismatched: set[tuple[str, str]] = field(default_factory=set)
    seen: dict[str, set[str]] = field(default_factory=dict)  # canary -> roles that were shown it
    requests: int = 0


class Matrix:
    """One client per role, signed in once; each request in a savepoint that is rolled back."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clients: dict[str, Client] = {}
        self.cookies: dict[str, Any] = {}
        for role in ROLES:
            client = Client(raise_request_exception=False)  # a 500 is an outcome like any other
            if role != "anonymous":
                client.force_login(world.users[role])
            self.clients[role] = client
            self.cookies[role] = copy.deepcopy(client.cookies)
        self.found = Findings()
        self.written = _written_rows()  # read again after each request: its "before" is the last "after"

    def _send(self, role: str, method: str, url: str, row: Row, *, api_call: bool) -> Any:
        client = self.clients[role]
        kwargs: dict[str, Any] = {}
        if row.upload and method != "GET":
            kwargs["data"] = {row.upload_field: png_upload()}
        elif method != "GET" and api_call:
            body = {k: _resolve(v, self.world, as_json=True) for k, v in row.body.items()}
            kwargs["data"], kwargs["content_type"] = body, "application/json"
        elif method != "GET":
            kwargs["data"] = {k: _resolve(v, self.world, as_json=False) for k, v in row.body.items()}
        savepoint = transaction.savepoint()
        try:
            return getattr(client, method.lower())(url, **kwargs)
        finally:
            transaction.savepoint_rollback(savepoint)
            client.cookies = copy.deepcopy(self.cookies[role])  # a logout (or a login) must not carry over

    def check(self, key: str, method: str, url: str, row: Row, expected: tuple[str, ...], *, api_call: bool) -> None:
        actual = []
        for role, want in zip(ROLES, expected, strict=True):
            response = self._send(role, method, url, row, api_call=api_call)
            before, after = self.written, _written_rows()
            self.written = after
            self.found.requests += 1
            got, may_write = _outcome(response), want.endswith("+")
            actual.append(got + ("+" if may_write else ""))
            if got != want.rstrip("+"):
                self.found.wrong_status.append(f"{method} {url} as {role}: {got}, declared {want} ({key})")
                self.found.mismatched.add((key, method))
            written = sorted(t for t, n in after.items() if n != before.get(t, 0))
            if written and not may_write:
                self.found.writes.append(f"{method} {url} as {role} ({got}) wrote to {', '.join(written)}")
            text = "" if response.streaming else response.content.decode(errors="replace")
            for canary, owners in self.world.canaries.items():
                if canary in text:
                    self.found.seen.setdefault(canary, set()).add(role)
                    if role not in owners:
                        self.found.leaks.append(f"{method} {url} as {role} shows {canary!r}")
        self.found.actual[(key, method)] = actual


def _report(found: Findings) -> str:
    lines = []
    for title, items in (("wrong status", found.wrong_status), ("wrote while denied", found.writes)):
        if items:
            lines += [f"{title} ({len(items)}):", *(f"  {item}" for item in items)]
    if found.leaks:
        lines += [f"leaks ({len(found.leaks)}):", *(f"  {item}" for item in found.leaks)]
    if found.mismatched:
        lines.append("actual outcomes of those rows (" + " ".join(ROLES) + "):")
        lines += [
            f"  {key} {method}: " + " ".join(found.actual[key, method]) for key, method in sorted(found.mismatched)
        ]
    return "\n".join(lines)


@pytest.fixture
def media(tmp_path: Path) -> Iterator[None]:
    with override_settings(MEDIA_ROOT=str(tmp_path / "media"), PRIVATE_MEDIA_ROOT=str(tmp_path / "private")):
        yield


# One long walk (68 s on a quiet machine): the suite's 300 s limit per test is for a hang, and a
# machine busy with other work took the walk past it.
@pytest.mark.timeout(900)
def test_authorization_matrix(sandbox: Any, media: None, clean_cache: None) -> None:
    world = build_world(sandbox)
    matrix = Matrix(world)
    endpoints = {e.key: e for e in page_endpoints()}
    for key, row in table().items():
        url = _page_url(endpoints[_base_key(key)], row, world)
        for method, expected in row.outcomes().items():
            matrix.check(key, method, url, row, expected, api_call=False)

    urls: dict[str, str] = {}
    methods: dict[str, set[str]] = {}
    for key, row in API.items():
        method, path = _base_key(key).split(" ", 1)
        url = _api_url(key, row, world)
        matrix.check(key, method, url, row, row.outcomes()[method], api_call=True)
        urls.setdefault(path, url.split("?", 1)[0])
        methods.setdefault(path, set()).add(method)
    everyone_405 = tuple(same("405").split())
    for path, url in urls.items():
        for method in sorted({"GET", "POST", "PATCH", "PUT", "DELETE"} - methods[path]):
            matrix.check(f"{method} {path} (not an operation)", method, url, Row(), everyone_405, api_call=True)

    found = matrix.found
    problems = len(found.wrong_status) + len(found.writes) + len(found.leaks)
    assert problems == 0, _report(found)
    # Each private string was on some page for one of its owners: the leak check looked for text that shows.
    unseen = {c for c, owners in world.canaries.items() if owners and not found.seen.get(c, set()) & owners}
    assert unseen == set(), "private strings no page showed to their owners"
