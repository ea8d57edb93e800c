"""The "Start selling" form: the currency follows the country (a US shop was offered AUD first) and
offers only the currencies Stripe pays out in there (it once listed every other one too, each then
refused), a refused form puts the cursor on its first wrong box, and the admin's rename of a shop refuses what
the form refuses."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from sellers.models import Seller
from tests.catalog.factories import SellerFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _selected(page: str, name: str) -> str:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    assert select, page
    found = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(0))
    return found.group(1) if found else ""


def _options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    assert select, page
    return re.findall(r'<option value="([^"]*)"', select.group(0))


def test_the_currency_starts_at_the_countrys_own(seller_client: Client) -> None:
    page = seller_client.get("/sell/").content.decode()
    assert _selected(page, "country") == "US"
    assert _selected(page, "default_currency") == ""  # "The country's own currency"
    assert "The country&#x27;s own currency" in page
    assert _options(page, "default_currency") == ["", "usd"]  # not AUD first, nor any the US refuses


@pytest.mark.parametrize(
    ("country", "currency", "offered"), [("JP", "jpy", ["jpy"]), ("GB", "gbp", ["gbp", "eur", "usd"])]
)
def test_changing_the_country_gives_its_currency(
    seller_client: Client, country: str, currency: str, offered: list[str]
) -> None:
    """What the page's country box asks (htmx) when it changes; the same address without a script.
    Only the currencies `seller_create` accepts for the country are offered."""
    page = seller_client.get("/sell/", {"country": country}, HTTP_HX_REQUEST="true").content.decode()
    assert _selected(page, "country") == country
    assert _selected(page, "default_currency") == currency
    assert _options(page, "default_currency") == ["", *offered]
    assert 'hx-get="/sell/"' in seller_client.get("/sell/").content.decode()


@pytest.mark.parametrize("country", ["ZZ", "", "x" * 3000])
def test_an_unknown_country_in_the_address_is_the_usual_form(seller_client: Client, country: str) -> None:
    response = seller_client.get("/sell/", {"country": country})
    assert response.status_code == 200
    assert _selected(response.content.decode(), "country") == "US"


@pytest.mark.parametrize(("country", "currency"), [("US", "usd"), ("JP", "jpy"), ("AU", "aud")])
def test_the_countrys_own_currency_is_taken_without_a_script(
    sandbox: Any, seller_client: Client, country: str, currency: str
) -> None:
    response = seller_client.post("/sell/start/", {"shop_name": "Kiln", "country": country, "default_currency": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Seller.objects.get().default_currency == currency


def test_a_refused_form_puts_the_cursor_on_its_first_wrong_box(seller_client: Client) -> None:
    response = seller_client.post("/sell/start/", {"shop_name": "Kiln", "country": "JP", "default_currency": "usd"})
    assert response.status_code == 422
    page = response.content.decode()
    assert re.search(r'<select name="default_currency"[^>]*autofocus', page), page
    assert page.count("autofocus") == 1

    response = seller_client.post("/sell/start/", {"shop_name": "Cer\u0430mics", "country": "ZZ"})
    page = response.content.decode()
    assert re.search(r'<input type="text" name="shop_name"[^>]*autofocus', page), page
    assert page.count("autofocus") == 1


def test_a_name_another_shop_has_puts_the_cursor_on_the_name(sandbox: Any, seller_client: Client) -> None:
    SellerFactory(shop_name="Kiln")
    response = seller_client.post("/sell/start/", {"shop_name": "KILN", "country": "US", "default_currency": "usd"})
    assert response.status_code in (409, 422)
    assert re.search(r'<input type="text" name="shop_name"[^>]*autofocus', response.content.decode())


# --- The Django admin's rename -----------------------------------------------------------------------


def _admin_form(seller: Seller, **changes: Any) -> Any:
    request = RequestFactory().post("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    model_admin = admin.site._registry[Seller]
    form_class = model_admin.get_form(request, obj=seller, change=True)
    data = {name: getattr(seller, name) for name in form_class.base_fields}
    data["user"] = seller.user_id
    data.update(changes)
    return form_class(data=data, instance=seller)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Cer\u0430mics", "mixes Latin letters with Cyrillic ones"),
        ("Rosen\u202eCeramics", "Leave out the direction controls"),
        ("\u200b\u200b", "Give your shop a name people can see"),
    ],
)
def test_the_admin_rename_refuses_what_the_form_refuses(name: str, says: str) -> None:
    seller = SellerFactory(shop_name="Kiln")
    form = _admin_form(seller, shop_name=name)
    assert not form.is_valid()
    assert says in " ".join(form.errors["shop_name"])
    assert _admin_form(seller, shop_name="Kiln & Co").is_valid()


def test_the_admin_saves_other_fields_of_a_shop_named_before_the_check() -> None:
    """A name stored before the check stays until someone changes it: editing the country is not refused."""
    seller = SellerFactory(shop_name="Kiln")
    Seller.objects.filter(pk=seller.pk).update(shop_name="Cer\u0430mics")
    seller.refresh_from_db()
    assert _admin_form(seller, country="JP", default_currency="jpy").is_valid()
