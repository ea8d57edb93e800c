"""`{% main_nav %}` (frontend/templatetags/nav.py): the main navigation is rendered once per process for
each kind of visitor, and what it shows follows the visitor's faces on the very next request; nothing
of one person is in it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.template import Context, Template
from django.test import Client
from django.urls import clear_script_prefix, reverse, set_script_prefix

from frontend.templatetags import nav
from orders.selectors import open_refund_requests_cache_key
from sellers.models import Seller
from tests.factories import UserFactory, make_platform_admin

pytestmark = pytest.mark.django_db


def main_nav(client: Client) -> str:
    page = client.get(reverse("home")).content.decode()
    return page[page.index('<nav aria-label="Main">') : page.index('<ul class="account">')]


def test_each_kind_of_visitor_gets_its_own_links() -> None:
    anonymous, buyer, seller, admin = Client(), Client(), Client(), Client()
    buyer.force_login(UserFactory())
    shop = Seller.objects.create(user=UserFactory(), shop_name="Kiln", country="US", default_currency="usd")
    seller.force_login(shop.user)
    admin.force_login(make_platform_admin())
    for _ in range(2):  # rendered, then kept: the same both times
        assert reverse("order_list") not in main_nav(anonymous)
        assert reverse("order_list") in main_nav(buyer) and reverse("sell_listings") not in main_nav(buyer)
        assert reverse("sell_listings") in main_nav(seller) and reverse("console_home") not in main_nav(seller)
        assert reverse("console_home") in main_nav(admin)


def test_a_sellers_count_of_refund_requests_waiting_shows_its_own_number() -> None:
    shop = Seller.objects.create(user=UserFactory(), shop_name="Kiln", country="US", default_currency="usd")
    client = Client()
    client.force_login(shop.user)
    for count, expected in ((0, "Refund requests</a>"), (2, 'badge warn">2<'), (3, 'badge warn">3<'), (0, "s</a>")):
        cache.set(open_refund_requests_cache_key(shop.pk), count)  # as the count the header reads
        assert expected in main_nav(client) and (count != 0 or "badge" not in main_nav(client))


def test_two_buyers_share_the_navigation_but_see_only_their_own_email() -> None:
    first, second = UserFactory(), UserFactory()
    one, two = Client(), Client()
    one.force_login(first)
    two.force_login(second)
    page_one = one.get(reverse("home")).content.decode()
    page_two = two.get(reverse("home")).content.decode()
    assert first.email in page_one and second.email not in page_one
    assert second.email in page_two and first.email not in page_two
    assert main_nav(one) == main_nav(two)


def test_the_links_follow_the_script_prefix() -> None:
    rendered = Template("{% load nav %}{% main_nav %}")
    nav._kept.cache_clear()
    try:
        assert 'href="/cart/"' in rendered.render(Context({}))
        set_script_prefix("/shop/")
        assert 'href="/shop/cart/"' in rendered.render(Context({}))
    finally:
        clear_script_prefix()
