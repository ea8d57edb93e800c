"""A shop cannot take another shop's name: buyers would not tell the two apart (impersonation).

Names are compared as people read them: Unicode compatibility forms folded (NFKC: full-width
letters are the letters), case folded ("STRASSE" is "straße"), format characters dropped (a
zero-width space is not seen) and spaces around and between words counted once.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from marketplace import gateway
from marketplace.errors import InvalidInput
from sellers import services
from sellers.models import Seller, shop_name_key
from tests.catalog.factories import SellerFactory
from tests.factories import UserFactory
from tests.sellers.conftest import start_selling

pytestmark = pytest.mark.django_db

TAKEN = "Rosen Straße Ceramics"
SAME_NAME = [
    "Rosen Straße Ceramics",
    "rosen strasse ceramics",
    "ROSEN STRASSE CERAMICS",
    "  Rosen   Straße\u3000Ceramics ",
    "\uff32\uff4f\uff53\uff45\uff4e Straße Ceramics",  # full-width letters
    "Rosen Stra\u200bße Cera\u200dmics",  # zero-width space and joiner
    "\u200eRosen Straße Ceramics\u200f",  # direction marks
    "Ro\u034fsen Straße\ufe0f Ceramics",  # a combining grapheme joiner, a variation selector: nothing drawn
    "Rosen\u3164Straße\u2800Ceramics",  # a Hangul filler and the Braille blank: drawn as spaces
]


@pytest.mark.parametrize("name", SAME_NAME)
def test_the_key_reads_the_name_as_people_do(name: str) -> None:
    assert shop_name_key(name) == shop_name_key(TAKEN) == "rosen strasse ceramics"


@pytest.mark.parametrize("name", ["Rosen Ceramics", "Rosen Straße Ceramic", "Rosen-Straße Ceramics", "Rosén Straße"])
def test_names_that_read_differently_are_different(name: str) -> None:
    assert shop_name_key(name) != shop_name_key(TAKEN)


@pytest.mark.parametrize("name", SAME_NAME)
def test_a_name_another_shop_has_is_refused_with_a_sentence(sandbox: Any, seller_client: Client, name: str) -> None:
    SellerFactory(shop_name=TAKEN)

    response = seller_client.post("/sell/start/", {"shop_name": name, "country": "US", "default_currency": "usd"})

    assert response.status_code == 422
    assert "Another shop already has this name" in response.content.decode()
    assert Seller.objects.count() == 1
    assert list(gateway.client().v1.accounts.list().data) == []
    with pytest.raises(InvalidInput) as refused:
        services.seller_create(user=UserFactory(), shop_name=name, country="US", default_currency="usd")
    assert refused.value.code == "shop_name_taken"


def test_the_same_user_submitting_twice_is_not_refused_for_its_own_name(sandbox: Any, seller_client: Client) -> None:
    start_selling(seller_client, shop=TAKEN)
    start_selling(seller_client, shop=TAKEN.upper())
    assert Seller.objects.get().shop_name == TAKEN


def test_the_database_refuses_a_second_shop_with_the_same_name() -> None:
    SellerFactory(shop_name=TAKEN)
    with pytest.raises(IntegrityError), transaction.atomic():
        Seller.objects.create(user=UserFactory(), shop_name=" rosen STRASSE  ceramics", country="US")


def test_two_shops_named_alike_at_once_end_with_one_shop_and_a_sentence(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other shop was created after our check and before our insert: the unique index refuses
    ours, and the seller reads the same sentence (not a server error)."""
    SellerFactory(shop_name=TAKEN)
    monkeypatch.setattr(services, "shop_name_taken", lambda **_: False)

    with pytest.raises(InvalidInput) as refused:
        services.seller_create(user=UserFactory(), shop_name=TAKEN.lower(), country="US", default_currency="usd")

    assert refused.value.code == "shop_name_taken"
    assert Seller.objects.count() == 1


def test_the_admin_form_refuses_a_rename_to_another_shops_name() -> None:
    SellerFactory(shop_name=TAKEN)
    other = SellerFactory(shop_name="Kiln")
    other.shop_name = TAKEN.upper()
    with pytest.raises(ValidationError) as refused:
        other.full_clean()
    assert "Another shop already has this name" in str(refused.value)
    other.shop_name = "Kiln & Co"
    other.full_clean()


def test_the_migration_keeps_shops_that_already_share_a_name() -> None:
    """Shops named alike before the check existed keep their names; the oldest holds the name, so no
    new shop can take it, and the others can still be saved."""
    first, second, third = SellerFactory(shop_name="A"), SellerFactory(shop_name="B"), SellerFactory(shop_name="C")
    Seller.objects.filter(pk=first.pk).update(shop_name="Kiln", shop_name_key=None)
    Seller.objects.filter(pk=second.pk).update(shop_name="KILN ", shop_name_key=None)
    Seller.objects.filter(pk=third.pk).update(shop_name="Other", shop_name_key=None)
    migration = importlib.import_module("sellers.migrations.0004_shop_name_key")

    migration.fill_keys(apps, None)

    keys = dict(Seller.objects.values_list("pk", "shop_name_key"))
    assert keys == {first.pk: "kiln", second.pk: None, third.pk: "other"}
    second.refresh_from_db()
    second.status = "paused"
    second.save()  # a duplicate from before is still saved (its name is not changed)
    with pytest.raises(InvalidInput):
        services.seller_create(user=UserFactory(), shop_name="kiln", country="US", default_currency="usd")
