"""A shop cannot take another shop's name: buyers would not tell the two apart (impersonation).

Names are compared as people read them: Unicode compatibility forms folded (NFKC: full-width
letters are the letters), case folded ("STRASSE" is "straße"), format characters dropped (a
zero-width space is not seen) and spaces around and between words counted once. And as they see
them: letters of another alphabet drawn the same (a Cyrillic "a" for the Latin, Greek omicron for "o")
make a name that looks like another shop's (Unicode's confusables skeleton, UTS #39), and a name that
mixes such letters of two alphabets is refused outright.
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
from sellers.models import Seller, shop_name_key, shop_name_skeleton
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
    monkeypatch.setattr(services, "shop_name_lookalike", lambda **_: False)

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


# --- Lookalikes from other alphabets (Unicode's confusables, UTS #39) ---------------------------

# Each second name is written wholly in another alphabet, and looks like the first.
WHOLE_SCRIPT_LOOKALIKES = [
    ("Kot", "\u041a\u041e\u0422"),  # KOT in Cyrillic
    ("Top", "\u03a4\u039f\u03a1"),  # TOP in Greek: tau, omicron, rho
    ("Cosy Pop", "\u0421\u043e\u0455\u0443 \u0420\u043e\u0440"),  # Cosy Pop in Cyrillic
]
# One letter or more of another alphabet among Latin ones.
MIXED_SCRIPTS = [
    ("Rosen Stra\u00dfe Cer\u0430mics", "\u0430", "Cyrillic"),  # a Cyrillic a
    ("B\u03bfok Nook", "\u03bf", "Greek"),  # Greek omicron
    ("\u041ailn", "\u041a", "Cyrillic"),  # a Cyrillic capital Ka
]
REAL_NAMES = [
    "\u65e5\u672c\u8a9e",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
    "\u0420\u0443\u0441\u0441\u043a\u0438\u0439",
    "Tokyo \u6771\u4eac Paper",
    "\u03a9 Watches",
    "Caf\u00e9 M\u00fcller",
]


@pytest.mark.parametrize(("taken", "name"), WHOLE_SCRIPT_LOOKALIKES)
def test_the_lookalike_key_reads_the_name_as_people_see_it(taken: str, name: str) -> None:
    assert shop_name_key(name) != shop_name_key(taken)  # another alphabet: another name to the first key
    assert shop_name_skeleton(name) == shop_name_skeleton(taken) == shop_name_skeleton(taken.upper())


@pytest.mark.parametrize(("taken", "name"), WHOLE_SCRIPT_LOOKALIKES)
def test_a_name_that_looks_like_another_shops_is_refused_with_a_sentence(
    sandbox: Any, seller_client: Client, taken: str, name: str
) -> None:
    SellerFactory(shop_name=taken)

    response = seller_client.post("/sell/start/", {"shop_name": name, "country": "US", "default_currency": "usd"})

    assert response.status_code == 422
    assert "looks the same as another shop" in response.content.decode()
    assert Seller.objects.count() == 1
    assert list(gateway.client().v1.accounts.list().data) == []
    with pytest.raises(InvalidInput) as refused:
        services.seller_create(user=UserFactory(), shop_name=name, country="US", default_currency="usd")
    assert refused.value.code == "shop_name_lookalike"


@pytest.mark.parametrize(("name", "letter", "script"), MIXED_SCRIPTS)
def test_a_name_mixing_lookalike_letters_of_two_alphabets_is_refused_naming_them(
    sandbox: Any, seller_client: Client, name: str, letter: str, script: str
) -> None:
    """No other shop needed: "Paypal" with a Cyrillic "a" is refused before anyone opens "Paypal"."""
    response = seller_client.post("/sell/start/", {"shop_name": name, "country": "US", "default_currency": "usd"})

    assert response.status_code == 422
    page = response.content.decode()
    assert f"mixes Latin letters with {script} ones" in page and f"\u201c{letter}\u201d" in page, page
    assert Seller.objects.count() == 0
    with pytest.raises(InvalidInput) as refused:
        services.seller_create(user=UserFactory(), shop_name=name, country="US", default_currency="usd")
    assert refused.value.code == "shop_name_mixed_scripts"


@pytest.mark.parametrize("name", REAL_NAMES)
def test_names_in_other_alphabets_are_welcome(sandbox: Any, seller_client: Client, name: str) -> None:
    SellerFactory(shop_name="Kot")
    SellerFactory(shop_name="Top")
    start_selling(seller_client, shop=name)
    assert Seller.objects.filter(shop_name=name).exists()


def test_a_jpy_shop_with_a_japanese_name_starts_selling_and_keeps_it(sandbox: Any, seller_client: Client) -> None:
    name = "\u4eac\u90fd\u306e\u7d19"  # 京都の紙
    start_selling(seller_client, shop=name, country="JP", currency="jpy")
    seller = Seller.objects.get()
    assert (seller.shop_name, seller.default_currency) == (name, "jpy")
    account = gateway.client().v1.accounts.retrieve(str(seller.stripe_account_id))
    assert account.default_currency == "jpy"
    with pytest.raises(InvalidInput) as refused:
        services.seller_create(user=UserFactory(), shop_name=f" {name} ", country="JP", default_currency="jpy")
    assert refused.value.code == "shop_name_taken"


def test_the_database_refuses_a_second_shop_that_looks_the_same() -> None:
    SellerFactory(shop_name="Top")
    with pytest.raises(IntegrityError), transaction.atomic():
        Seller.objects.create(user=UserFactory(), shop_name="\u03a4\u039f\u03a1", country="US")


def test_the_admin_form_refuses_a_rename_to_a_lookalike_of_another_shops_name() -> None:
    SellerFactory(shop_name="Top")
    other = SellerFactory(shop_name="Kiln")
    other.shop_name = "\u03a4\u039f\u03a1"
    with pytest.raises(ValidationError) as refused:
        other.full_clean()
    assert "looks the same as another shop" in str(refused.value)


@pytest.mark.parametrize(
    ("migration_name", "fill", "column", "names", "kept", "refused"),
    [
        ("0004_shop_name_key", "fill_keys", "shop_name_key", ("Kiln", "KILN "), "kiln", "kiln"),
        # 0005: shops that looked alike (TOP in Greek capitals, then in Cyrillic letters).
        ("0005_shop_name_skeleton", "fill_skeletons", "shop_name_skeleton",
         ("Top", "\u03a4\u039f\u03a1"), "top", "\u0422\u043e\u0440"),
    ],
)  # fmt: skip
def test_the_migrations_keep_shops_that_already_share_a_name_or_a_look(
    migration_name: str, fill: str, column: str, names: tuple[str, str], kept: str, refused: str
) -> None:
    """Shops named (0004) or looking (0005) alike before the check existed keep their names; the
    oldest holds the key, so no new shop can take the name or the look, and the others can still be saved."""
    first, second, third = SellerFactory(shop_name="A"), SellerFactory(shop_name="B"), SellerFactory(shop_name="C")
    for seller, name in ((first, names[0]), (second, names[1]), (third, "Other")):
        Seller.objects.filter(pk=seller.pk).update(shop_name=name, **{column: None})
    migration = importlib.import_module(f"sellers.migrations.{migration_name}")

    getattr(migration, fill)(apps, None)

    keys = dict(Seller.objects.values_list("pk", column))
    assert keys == {first.pk: kept, second.pk: None, third.pk: "other"}
    second.refresh_from_db()
    second.status = "paused"
    second.save()  # a duplicate from before is still saved (its name is not changed)
    with pytest.raises(InvalidInput):
        services.seller_create(user=UserFactory(), shop_name=refused, country="US", default_currency="usd")
