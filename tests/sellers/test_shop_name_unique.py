"""A shop cannot take another shop's name: buyers would not tell the two apart (impersonation).

Names are compared as people read them: Unicode compatibility forms folded (NFKC: full-width
letters are the letters), case folded ("STRASSE" is "straße"), format characters dropped (a
zero-width space is not seen) and spaces around and between words counted once. And as they see
them: letters of another alphabet drawn the same (a Cyrillic "a" for the Latin, Greek omicron for "o")
make a name that looks like another shop's (Unicode's confusables skeleton, UTS #39), as written, in
capitals or in small letters (`sellers.models.shop_name_looks`), and a name that mixes such letters
of two alphabets is refused outright.
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
from sellers.models import Seller, ShopNameLook, shop_name_key, shop_name_looks
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
    ("kit", "\u041a\u0406\u0422"),  # KIT in Cyrillic capitals: Latin "KIT" is "kit" to the first key
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
    for written in (taken, taken.upper(), taken.lower()):  # however the shop writes its name
        assert shop_name_looks(name) & shop_name_looks(written), written


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


# --- Which names clash: the first key, then the looks -----------------------------------------

TAKEN_CODE, LOOKALIKE = "shop_name_taken", "shop_name_lookalike"
# (a shop's name, another name, how the second is refused beside the first: None when it is not).
# Either way round: each key is unique in the database, so the order does not matter.
NAME_PAIRS = [
    # Read alike (`shop_name_key`): case, full-width letters, "ß".
    ("kit", "KIT", TAKEN_CODE),
    ("kit", "\uff2b\uff29\uff34", TAKEN_CODE),  # KIT in full-width capitals
    ("Stra\u00dfe", "STRASSE", TAKEN_CODE),
    ("Stra\u00dfe", "STRA\u1e9eE", TAKEN_CODE),  # the capital sharp s
    ("\u03a9 Watches", "\u03c9 WATCHES", TAKEN_CODE),
    # Another alphabet's capitals or small letters, as written.
    ("Kot", "\u041a\u041e\u0422", LOOKALIKE),  # KOT in Cyrillic capitals
    ("Top", "\u03a4\u039f\u03a1", LOOKALIKE),  # TOP in Greek capitals
    ("Top", "\u03c4\u03bf\u03c1", LOOKALIKE),  # the same in Greek small letters
    ("Top", "\u0422\u043e\u0440", LOOKALIKE),  # Top in Cyrillic letters
    ("Cosy Pop", "\u0421\u043e\u0455\u0443 \u0420\u043e\u0440", LOOKALIKE),  # Cosy Pop in Cyrillic
    # Looking like the other shop's name in capitals or in small letters, which the first key gives
    # it: Latin "KIT" is refused beside "kit", so its lookalike in Cyrillic capitals is too.
    ("kit", "\u041a\u0406\u0422", LOOKALIKE),  # KIT in Cyrillic capitals
    ("kit", "\u043a\u0456\u0442", LOOKALIKE),  # the same in small letters: one name to the first key
    ("not", "\u039d\u039f\u03a4", LOOKALIKE),  # NOT in Greek capitals
    ("not", "\u03bd\u03bf\u03c4", LOOKALIKE),  # the same in small letters
    ("ABE", "\u03b1\u03b2\u03b5", LOOKALIKE),  # alpha, beta, epsilon: ABE in capitals
    ("ikea", "lKEA", LOOKALIKE),  # a small L before KEA: "IKEA", which the first key refuses
    # Latin names Unicode counts as alike: "rn" is drawn like "m", capital "I" like small "l".
    ("modern", "modem", LOOKALIKE),
    ("MODERN", "modem", LOOKALIKE),  # "MODERN" is "modern" to the first key
    ("Modern", "MODEM", LOOKALIKE),
    ("IKEA", "lKEA", LOOKALIKE),
    ("Ice", "lce", LOOKALIKE),  # a capital I, a small L: alike as written
    ("Ice", "1CE", LOOKALIKE),  # a one
    ("Oscar", "0scar", LOOKALIKE),  # a zero
    # Not alike: the skeleton draws capital "I" as small "l", which no longer makes it an "L".
    ("ALL", "ALI", None),
    ("KLLN", "KILN", None),
    ("ALL'S", "ALI'S", None),
    ("All's", "ALI'S", None),
    ("Ali's", "ALL'S", None),
    ("Kiln", "Klln", None),
    ("ILONA", "llona", None),
    ("Paris", "Parls", None),
    ("Kot", "\u041a\u043e\u0448", None),  # Cyrillic "Kosh": sha is no "t"
    ("Caf\u00e9", "Cafe", None),
]


def _refused_code(name: str, *, user: Any) -> str | None:
    if services.shop_name_taken(shop_name=name, user=user):
        return TAKEN_CODE
    if services.shop_name_lookalike(shop_name=name, user=user):
        return LOOKALIKE
    return None


@pytest.mark.parametrize(("taken", "name", "refused"), NAME_PAIRS)
def test_which_names_clash_with_a_shops_name(taken: str, name: str, refused: str | None) -> None:
    """Each pair both ways: the check the seller's form, the API and the admin ask, and the database."""
    assert services.shop_name_refusal(name) is None and services.shop_name_refusal(taken) is None
    for first, second in ((taken, name), (name, taken)):
        Seller.objects.all().delete()
        SellerFactory(shop_name=first)
        user = UserFactory()
        assert _refused_code(second, user=user) == refused, (first, second)
        if refused:
            with pytest.raises(IntegrityError), transaction.atomic():
                Seller.objects.create(user=user, shop_name=second, country="US")
        else:
            Seller.objects.create(user=user, shop_name=second, country="US")


def test_a_renamed_shop_gives_up_its_old_looks_and_takes_the_new_ones() -> None:
    kit = SellerFactory(shop_name="kit")
    kit.shop_name = "KIT"  # its own name in capitals: its own looks are no other shop's
    kit.save()
    kit.shop_name = "Kiln"
    kit.save(update_fields=["shop_name"])
    assert set(ShopNameLook.objects.filter(seller=kit).values_list("look", flat=True)) == shop_name_looks("Kiln")
    SellerFactory(shop_name="\u041a\u0406\u0422")  # KIT in Cyrillic capitals: no shop looks like it now
    with pytest.raises(IntegrityError), transaction.atomic():
        SellerFactory(shop_name="KlLN")  # "KILN" in capitals, with a small L for the I


def test_the_api_refuses_a_name_like_another_shops_in_capitals(sandbox: Any, seller_client: Client) -> None:
    SellerFactory(shop_name="kit")
    seller_client.get("/")
    answer = seller_client.post(
        "/api/v1/seller/",
        {"shop_name": "\u041a\u0406\u0422", "country": "US"},
        content_type="application/json",
        headers={"X-CSRFToken": seller_client.cookies["csrftoken"].value},
    )
    assert answer.status_code == 422, answer.content
    assert answer.json()["error"]["code"] == LOOKALIKE
    assert "looks the same as another shop" in answer.json()["error"]["message"]
    assert Seller.objects.count() == 1 and list(gateway.client().v1.accounts.list().data) == []


def test_the_django_admin_refuses_a_rename_like_another_shops_in_capitals() -> None:
    SellerFactory(shop_name="kit")
    SellerFactory(shop_name="ALL")
    other = SellerFactory(shop_name="Kiln")
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/django-admin/sellers/seller/{other.pk}/change/"
    data = {"user": other.user_id, "country": "US", "default_currency": "usd"}
    data |= {"moderation_entries-TOTAL_FORMS": 0, "moderation_entries-INITIAL_FORMS": 0}  # its inline

    refused = admin.post(url, {**data, "shop_name": "\u041a\u0406\u0422"})

    assert refused.status_code == 200 and "looks the same as another shop" in refused.content.decode()
    other.refresh_from_db()
    assert other.shop_name == "Kiln"
    assert admin.post(url, {**data, "shop_name": "ALI"}).status_code == 302  # not "ALL": it looks otherwise
    other.refresh_from_db()
    assert other.shop_name == "ALI"


def _named_before_the_check(*names: str) -> list[Seller]:
    """Shops named `names`, oldest first, as they were before a key existed (no keys, no looks)."""
    sellers = [SellerFactory(shop_name=f"Shop {n}") for n in range(len(names))]
    for seller, name in zip(sellers, names, strict=True):
        Seller.objects.filter(pk=seller.pk).update(shop_name=name, shop_name_key=None)
    ShopNameLook.objects.all().delete()
    return sellers


def _still_saved_and_held(younger: Seller, refused: str) -> None:
    younger.refresh_from_db()
    younger.status = "paused"
    younger.save()  # a duplicate from before is still saved (its name is not changed)
    with pytest.raises(InvalidInput):
        services.seller_create(user=UserFactory(), shop_name=refused, country="US", default_currency="usd")


def test_migration_0004_keeps_shops_that_already_share_a_name() -> None:
    """Shops named alike before the check existed keep their names; the oldest holds the key, so no
    new shop can take the name, and the others can still be saved."""
    first, second, third = _named_before_the_check("Kiln", "KILN ", "Other")

    importlib.import_module("sellers.migrations.0004_shop_name_key").fill_keys(apps, None)

    keys = dict(Seller.objects.values_list("pk", "shop_name_key"))
    assert keys == {first.pk: "kiln", second.pk: None, third.pk: "other"}
    _still_saved_and_held(second, "kiln")


def test_migration_0006_keeps_shops_that_already_look_alike() -> None:
    """As 0004 (and 0005 with its key, gone with its column since 0006) for names read alike: the
    oldest shop holds a look, a younger one that looks like it is left without that look and keeps
    the others (Greek "TOP" keeps its small letters, which no Latin name has)."""
    first, second, third = _named_before_the_check("Top", "\u03a4\u039f\u03a1", "Other")

    importlib.import_module("sellers.migrations.0006_shop_name_looks").fill_looks(apps, None)

    looks: dict[int, set[str]] = {}
    for pk, look in ShopNameLook.objects.values_list("seller", "look"):
        looks.setdefault(pk, set()).add(look)
    assert looks == {first.pk: {"Top", "TOP", "top"}, second.pk: {"\u1d1bop"}, third.pk: {"Other", "OTHER", "other"}}
    _still_saved_and_held(second, "\u0422\u043e\u0440")  # Top in Cyrillic letters
