"""The Sell area's listing pages and the console's fee page, as a seller and an admin use them."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.forms import ListingForm
from catalog.models import Listing, ListingStatus
from fees.models import FeeRule
from subscriptions.models import Interval, SubscriptionPlan
from tests.catalog.factories import CategoryFactory, ListingFactory, SellerFactory, jpy_seller, png_upload
from tests.factories import UserFactory, make_platform_admin

pytestmark = pytest.mark.django_db


def test_a_seller_creates_a_listing_with_an_image_then_publishes_it(client: Client) -> None:
    seller = SellerFactory()
    category = CategoryFactory(name="Kitchen")
    client.force_login(seller.user)
    response = client.post(
        reverse("sell_listing_new"),
        {
            "title": "Blue mug",
            "description": "Stoneware",
            "price": "12.50",
            "stock": "4",
            "category": category.pk,
            "image": png_upload(),
            "image_alt": "A blue mug",
        },
        follow=True,
    )
    listing = Listing.objects.get()
    assert (listing.price, listing.currency, listing.status) == (1250, "usd", ListingStatus.DRAFT)
    assert listing.images.get().alt_text == "A blue mug"
    assert "saved as a draft" in response.content.decode()
    page = client.post(reverse("sell_listing_publish", args=[listing.pk]), follow=True).content.decode()
    assert "“Blue mug” is published." in page
    assert "Blue mug" in client.get(reverse("home")).content.decode()
    page = client.post(reverse("sell_listing_unpublish", args=[listing.pk]), follow=True).content.decode()
    assert "“Blue mug” is no longer shown in the shop." in page
    assert 'data-testid="listing-card"' not in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize(("currency", "price", "minor"), [("usd", "12.50", 1250), ("jpy", "1,250", 1250)])
def test_the_new_listing_form_posted_twice_makes_one_draft(
    client: Client, currency: str, price: str, minor: int
) -> None:
    """A double click on "Save draft" (or the browser posting the form again) found no draft, so it
    made a second one, with its image; and a listing cannot be deleted. The form's hidden token
    names the submission: the second finds the draft the first made."""
    seller = jpy_seller() if currency == "jpy" else SellerFactory()
    category = CategoryFactory()
    client.force_login(seller.user)
    page = client.get(reverse("sell_listing_new")).content.decode()
    [token] = re.findall(r'name="form_token" value="([0-9a-f]{32})"', page)
    form = {"title": "Blue mug", "price": price, "stock": "4", "category": category.pk, "form_token": token}
    first = client.post(reverse("sell_listing_new"), {**form, "image": png_upload()})
    second = client.post(reverse("sell_listing_new"), {**form, "image": png_upload()})
    listing = Listing.objects.get()
    assert (listing.price, listing.currency, listing.images.count()) == (minor, currency, 1)
    assert first["Location"] == second["Location"] == reverse("sell_listing_edit", args=[listing.pk])
    [again] = re.findall(
        r'name="form_token" value="([0-9a-f]{32})"', client.get(reverse("sell_listing_new")).content.decode()
    )
    assert again != token, "the next new listing gets a new token"
    client.post(reverse("sell_listing_new"), {**form, "form_token": again})
    assert Listing.objects.count() == 2
    other = SellerFactory()  # a token is the seller's own: another seller's same token is another draft
    client.force_login(other.user)
    client.post(reverse("sell_listing_new"), {**form, "price": "12.50", "form_token": token})
    assert Listing.objects.filter(seller=other).count() == 1


@pytest.mark.parametrize(("currency", "lowest"), [("usd", "$0.50"), ("jpy", "¥50")])
def test_a_negative_price_is_told_the_lowest_price_as_zero_is(client: Client, currency: str, lowest: str) -> None:
    """ "-1" was told "Enter an amount of zero or more.", and the 0 typed next "The lowest price Stripe can
    charge ... is ¥50.": the first sentence sent the seller to a price refused in turn."""
    seller = SellerFactory(default_currency=currency) if currency == "usd" else jpy_seller()
    client.force_login(seller.user)
    said = f"The lowest price Stripe can charge in {currency.upper()} is {lowest}."
    for price in ("-1", "0"):
        response = client.post(
            reverse("sell_listing_new"),
            {"title": "Tea bowl", "price": price, "stock": "1", "category": CategoryFactory().pk},
        )
        assert response.status_code == 422
        page = response.content.decode()
        assert said in page and "zero or more" not in page, price
    assert not Listing.objects.exists()


def test_form_errors_are_shown_next_to_their_field(client: Client) -> None:
    seller = jpy_seller()
    client.force_login(seller.user)
    response = client.post(
        reverse("sell_listing_new"),
        {"title": "Tea bowl", "price": "1500.5", "stock": "1", "category": CategoryFactory().pk},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "JPY has no decimals: enter a whole number." in page
    assert 'aria-invalid="true"' in page and 'aria-describedby="id_price_helptext id_price_error"' in page
    response = client.post(
        reverse("sell_listing_new"),
        {"title": "Tea bowl", "price": "49", "stock": "1", "category": CategoryFactory().pk},
    )
    assert "The lowest price Stripe can charge in JPY is ¥50." in response.content.decode()
    response = client.post(
        reverse("sell_listing_new"),
        {
            "title": "Tea bowl",
            "price": "500",
            "stock": "1",
            "category": CategoryFactory().pk,
            "image": SimpleUploadedFile("x.png", b"<svg onload=alert(1)>", "image/png"),
        },
    )
    assert "not an image we accept (PNG, JPEG or WebP)" in response.content.decode()
    assert not Listing.objects.exists()


def test_edit_keeps_the_currency_and_prefills_major_units(client: Client) -> None:
    listing = ListingFactory(price=1250)
    client.force_login(listing.seller.user)
    page = client.get(reverse("sell_listing_edit", args=[listing.pk])).content.decode()
    assert 'value="12.50"' in page and "Price (USD)" in page
    client.post(
        reverse("sell_listing_edit", args=[listing.pk]),
        {"title": "Bigger mug", "price": "15", "stock": "2", "category": listing.category_id},
    )
    listing.refresh_from_db()
    assert (listing.title, listing.price, listing.currency, listing.stock) == ("Bigger mug", 1500, "usd", 2)


def test_saving_the_edit_form_keeps_the_units_checkouts_took_meanwhile(client: Client) -> None:
    """The form shows 5 in stock; while it is open a buyer's checkout reserves 2. Saving a new title
    leaves 3 (it put 5 back on sale, so 7 units could be sold of 5), and raising the stock the form
    showed by 5 adds 5 to what is there now."""
    listing = ListingFactory(stock=5, title="Mug")
    client.force_login(listing.seller.user)
    url = reverse("sell_listing_edit", args=[listing.pk])
    page = client.get(url).content.decode()
    assert '<input type="hidden" name="stock_shown" value="5">' in page
    Listing.objects.filter(pk=listing.pk).update(stock=F("stock") - 2)  # a checkout reserves 2 units
    form = {"title": "Blue mug", "price": "12.50", "stock": "5", "category": listing.category_id, "stock_shown": "5"}
    assert client.post(url, form).status_code == 302
    listing.refresh_from_db()
    assert (listing.title, listing.stock) == ("Blue mug", 3)

    Listing.objects.filter(pk=listing.pk).update(stock=F("stock") - 1)  # another unit reserved
    assert client.post(url, {**form, "stock": "8", "stock_shown": "3"}).status_code == 302
    listing.refresh_from_db()
    assert listing.stock == 7
    assert client.post(url, {**form, "stock": "0", "stock_shown": "9"}).status_code == 302
    listing.refresh_from_db()
    assert listing.stock == 0, "never below zero"


def test_a_stock_change_that_would_pass_the_most_units_is_refused_in_words(client: Client) -> None:
    """Two tabs of the edit form, both showing 5: each raising it to the most the field takes
    (1,000,000) added 999,995 twice, past the limit, and from then on every save of the form (a new
    title) was refused for a stock the seller had not typed."""
    listing = ListingFactory(stock=5, title="Mug")
    client.force_login(listing.seller.user)
    url = reverse("sell_listing_edit", args=[listing.pk])
    form = {"title": "Mug", "price": "12.50", "stock": "1000000", "category": listing.category_id, "stock_shown": "5"}
    assert client.post(url, form).status_code == 302
    response = client.post(url, {**form, "title": "Blue mug"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "At most 1,000,000 units can be on sale; this change would make 1,999,995." in page
    assert 'value="Blue mug"' in page and '<input type="hidden" name="stock_shown" value="5">' in page
    listing.refresh_from_db()
    assert (listing.title, listing.stock) == ("Mug", 1_000_000)
    assert client.post(url, {**form, "title": "Blue mug", "stock_shown": "1000000"}).status_code == 302


def test_removing_an_image_twice_says_it_is_gone_instead_of_a_404(client: Client) -> None:
    """A double click on "Remove image": the second post found no image and answered the site's
    404 page, as if the listing were gone, instead of the edit page."""
    listing = ListingFactory(title="Mug")
    client.force_login(listing.seller.user)
    client.post(
        reverse("sell_listing_edit", args=[listing.pk]),
        {"title": "Mug", "price": "12.50", "stock": "1", "category": listing.category_id, "image": png_upload()},
    )
    image = listing.images.get()
    remove = reverse("sell_listing_image_remove", args=[listing.pk, image.pk])
    assert client.post(remove).status_code == 302
    again = client.post(remove, follow=True)
    assert again.redirect_chain == [(reverse("sell_listing_edit", args=[listing.pk]), 302)]
    assert "This image was already removed." in again.content.decode()
    other = ListingFactory()  # another seller's listing stays a 404, whatever the image
    assert client.post(reverse("sell_listing_image_remove", args=[other.pk, image.pk])).status_code == 404


@pytest.mark.parametrize(("currency", "price"), [("usd", "12.50"), ("jpy", "1,250")])
def test_the_edit_form_posted_twice_applies_once(client: Client, currency: str, price: str) -> None:
    """The stock is applied as a change from what the form showed (5 -> 8 adds 3): a double click on
    "Save changes" added it twice (11 on sale of 8) and attached the image twice. The form's hidden
    token names the edit: posted again, nothing is applied again."""
    listing = ListingFactory(stock=5, title="Mug", seller=jpy_seller() if currency == "jpy" else SellerFactory())
    client.force_login(listing.seller.user)
    url = reverse("sell_listing_edit", args=[listing.pk])
    [token] = re.findall(r'name="form_token" value="([0-9a-f]{32})"', client.get(url).content.decode())
    form = {"title": "Blue mug", "price": price, "stock": "8", "category": listing.category_id, "stock_shown": "5"}
    for _ in range(2):
        assert client.post(url, {**form, "form_token": token, "image": png_upload()}).status_code == 302
    listing.refresh_from_db()
    assert (listing.title, listing.stock, listing.price, listing.images.count()) == ("Blue mug", 8, 1250, 1)
    [again] = re.findall(r'name="form_token" value="([0-9a-f]{32})"', client.get(url).content.decode())
    assert again != token
    assert client.post(url, {**form, "stock": "9", "stock_shown": "8", "form_token": again}).status_code == 302
    listing.refresh_from_db()
    assert listing.stock == 9, "the next edit applies"


@pytest.mark.parametrize("title", ["Mug\r\nBcc: all@example.com", "Mug\tBlue", "Mug\u2029Blue"])
def test_a_title_on_more_than_one_line_is_refused_on_the_page_and_the_api(client: Client, title: str) -> None:
    """A listing's title names it in email subjects (a subscription's emails) and on one line
    everywhere: one with a line break made those emails fail to send, and read as two lines."""
    listing = ListingFactory(title="Mug")
    client.force_login(listing.seller.user)
    form = {"title": title, "price": "12.50", "stock": "1", "category": listing.category_id}
    response = client.post(reverse("sell_listing_new"), form)
    assert response.status_code == 422
    assert "Keep the title on one line, without tabs or other control characters." in response.content.decode()
    response = client.post(reverse("sell_listing_edit", args=[listing.pk]), form)
    assert response.status_code == 422
    api = client.patch(f"/api/v1/seller/listings/{listing.pk}", {"title": title}, content_type="application/json")
    assert (api.status_code, api.json()["error"]["code"]) == (422, "title_one_line")
    assert list(Listing.objects.values_list("title", flat=True)) == ["Mug"]


def test_another_sellers_listing_is_a_404(client: Client) -> None:
    listing = ListingFactory()
    client.force_login(SellerFactory().user)
    assert client.get(reverse("sell_listing_edit", args=[listing.pk])).status_code == 404
    assert client.post(reverse("sell_listing_unpublish", args=[listing.pk])).status_code == 404
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED


@pytest.mark.parametrize(
    ("seller_fields", "in_shop"),
    [
        ({}, True),
        ({"charges_enabled": False}, False),
        ({"paused_at": timezone.now(), "status": "paused"}, False),
    ],
    ids=["can sell", "restricted", "paused"],
)
def test_the_edit_page_links_to_the_shop_only_when_the_listing_is_there(
    client: Client, seller_fields: dict[str, object], in_shop: bool
) -> None:
    """A published listing of a seller who cannot sell is not in the shop: its link was a 404."""
    listing = ListingFactory(seller=SellerFactory(**seller_fields), status=ListingStatus.PUBLISHED)
    client.force_login(listing.seller.user)
    page = client.get(reverse("sell_listing_edit", args=[listing.pk])).content.decode()
    assert (f'href="/listing/{listing.pk}/"' in page) is in_shop
    assert ("Not in the shop while your account cannot sell" in page) is not in_shop
    if in_shop:
        assert client.get(f"/listing/{listing.pk}/").status_code == 200


def test_listings_page_warns_a_seller_whose_listings_are_hidden(client: Client) -> None:
    seller = SellerFactory(charges_enabled=False)
    ListingFactory(seller=seller, title="Blue mug")
    client.force_login(seller.user)
    page = client.get(reverse("sell_listings")).content.decode()
    assert "Your listings are hidden from buyers until your shop can take payments." in page and "Blue mug" in page
    paused = SellerFactory(paused_at=timezone.now(), status="paused")
    client.force_login(paused.user)
    page = client.get(reverse("sell_listings")).content.decode()
    assert "hidden from buyers because the marketplace paused your shop" in page
    client.force_login(UserFactory())
    assert client.get(reverse("sell_listings")).status_code == 302


def test_admin_sets_fee_rules_in_the_console(client: Client) -> None:
    client.force_login(make_platform_admin())
    seller = SellerFactory(shop_name="Kiln & Co")
    rule_data = {"currency": "usd", "percent": "2.9", "fixed": "0.30", "seller": seller.pk}
    response = client.post(reverse("console_fees"), rule_data, follow=True)
    rule = FeeRule.objects.get(seller=seller)
    assert (rule.basis_points, rule.fixed_amount, rule.currency) == (290, 30, "usd")
    page = response.content.decode()
    assert "Kiln &amp; Co" in page and "2.9 %" in page and "$0.30" in page
    response = client.post(reverse("console_fees"), {"currency": "jpy", "percent": "10", "fixed": "0.5"})
    assert response.status_code == 422 and "JPY has no decimals" in response.content.decode()
    client.post(reverse("console_fee_rule_delete", args=[rule.pk]))
    assert not FeeRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize("percent", ["1e2", "1E1", " 5e-1", "0x10", "10 %"])
def test_a_percentage_in_another_notation_is_refused_not_read_as_a_number(client: Client, percent: str) -> None:
    """ "1e2" is 100 to Python's Decimal, not to an admin who meant something else: a fee of 100 %."""
    client.force_login(make_platform_admin())
    rules = list(FeeRule.objects.values_list("pk", "basis_points"))
    response = client.post(reverse("console_fees"), {"currency": "usd", "percent": percent, "fixed": "0"})
    assert response.status_code == 422
    assert "Type the percentage as a number such as 10 or 2.9." in response.content.decode()
    assert list(FeeRule.objects.values_list("pk", "basis_points")) == rules


def test_a_rule_for_a_shop_in_a_currency_it_does_not_sell_in_is_refused(client: Client) -> None:
    """A shop sells in its own currency: a EUR rule for a JPY shop would sit in the list and never apply."""
    client.force_login(make_platform_admin())
    shop = jpy_seller()
    rules = FeeRule.objects.count()
    response = client.post(
        reverse("console_fees"), {"currency": "eur", "percent": "5", "fixed": "0", "seller": shop.pk}
    )
    assert response.status_code == 422
    assert f"{shop.shop_name} sells in JPY: a EUR rule for it would never apply." in response.content.decode()
    assert FeeRule.objects.count() == rules
    response = client.post(
        reverse("console_fees"), {"currency": "jpy", "percent": "5", "fixed": "0", "seller": shop.pk}
    )
    assert response.status_code == 302 and FeeRule.objects.get(seller=shop).basis_points == 500


def test_the_fee_console_does_not_exist_for_sellers(client: Client) -> None:
    client.force_login(SellerFactory().user)
    assert client.get(reverse("console_fees")).status_code == 404


@pytest.mark.parametrize("length", [10_001, 2 * 1024 * 1024])
def test_the_sell_form_refuses_a_description_over_the_api_limit(client: Client, length: int) -> None:
    """The form took 2 MB where the API capped at 10,000 characters; now one limit holds for both."""
    listing = ListingFactory(description="Glazed.")
    client.force_login(listing.seller.user)
    form = {"title": "Mug", "price": "12.00", "stock": "1", "category": listing.category_id}
    for url in (reverse("sell_listing_new"), reverse("sell_listing_edit", args=[listing.pk])):
        response = client.post(url, {**form, "description": "x" * length})
        assert response.status_code == 422
        page = response.content.decode()
        assert 'id="id_description_error"' in page and "at most 10000 characters" in page
    assert Listing.objects.count() == 1 and Listing.objects.get().description == "Glazed."
    saved = client.post(reverse("sell_listing_new"), {**form, "description": "x" * 10_000})
    assert saved.status_code == 302 and Listing.objects.filter(description="x" * 10_000).exists()


@pytest.mark.parametrize(
    ("typed", "stock"),
    [("12", 12), ("\uff11\uff12", 12), ("100\u0660", None), ("\u0661\u0662", None)],
    ids=["ascii", "full-width", "an Arabic-Indic zero after 100", "Arabic-Indic"],
)
def test_stock_is_read_in_ascii_digits_full_width_ones_too(typed: str, stock: int | None) -> None:
    data = {"title": "Tea bowl", "price": "10", "stock": typed, "category": CategoryFactory().pk}
    form = ListingForm(data, currency="usd")
    assert form.is_valid() is (stock is not None), form.errors
    if stock is not None:
        assert form.cleaned_data["stock"] == stock
    else:
        assert "stock" in form.errors


def test_a_description_as_long_as_the_text_area_allows_with_line_breaks_is_saved(client: Client) -> None:
    """The browser counts a line break as one character for `maxlength` and submits it as CRLF."""
    from catalog.models import DESCRIPTION_MAX_LENGTH

    seller = SellerFactory()
    client.force_login(seller.user)
    typed = ("Stoneware, glazed by hand." + "." * 73 + "\n") * (DESCRIPTION_MAX_LENGTH // 100)
    assert len(typed) == DESCRIPTION_MAX_LENGTH
    form = {"title": "Mug", "description": typed.replace("\n", "\r\n"), "price": "12.50", "stock": "1"}
    response = client.post(reverse("sell_listing_new"), {**form, "category": CategoryFactory().pk})
    assert response.status_code == 302
    assert Listing.objects.get().description == typed.strip()


def test_each_fee_rules_delete_button_names_its_rule_for_screen_readers(client: Client) -> None:
    """Two sellers' rules had the same hidden label ("Delete Seller USD rule"): not told apart by ear."""
    kiln, paper = SellerFactory(shop_name="Kiln Co"), SellerFactory(shop_name="Kyoto Paper")
    FeeRule.objects.create(currency="usd", seller=kiln, basis_points=500)
    FeeRule.objects.create(currency="jpy", seller=paper, basis_points=800)
    # A migration makes the platform's default; a transactional test run before may have flushed it.
    FeeRule.objects.get_or_create(currency="usd", seller=None, category=None, defaults={"basis_points": 1000})
    client.force_login(make_platform_admin())
    page = client.get(reverse("console_fees")).content.decode()
    for name in ("the USD rule for Kiln Co", "the JPY rule for Kyoto Paper", "the USD rule for the platform default"):
        assert f'Delete<span class="visually-hidden"> {name}</span>' in page


def _deleted_message(client: Client, rule: FeeRule) -> str:
    page = client.post(reverse("console_fee_rule_delete", args=[rule.pk]), follow=True).content.decode()
    assert not FeeRule.objects.filter(pk=rule.pk).exists()
    return page


def test_deleting_a_platform_default_says_the_built_in_fee_applies(client: Client) -> None:
    """It said "the next less specific rule applies": there is none below a platform default, and the
    built-in 10 % took over, which an admin who deleted a 5 % default would not expect."""
    FeeRule.objects.filter(currency="usd").delete()
    rule = FeeRule.objects.create(currency="usd", basis_points=500, fixed_amount=30)
    client.force_login(make_platform_admin())
    page = _deleted_message(client, rule)
    assert "next less specific" not in page
    assert "built-in fee: 10 % with no fixed amount" in page and "USD" in page


def test_deleting_an_override_names_the_rule_that_applies_after_it(client: Client) -> None:
    FeeRule.objects.filter(currency="jpy").delete()
    kiln, pottery = SellerFactory(shop_name="Kiln Co"), CategoryFactory(name="Pottery")
    FeeRule.objects.create(currency="jpy", basis_points=700, fixed_amount=50)
    FeeRule.objects.create(currency="jpy", category=pottery, basis_points=600)
    both = FeeRule.objects.create(currency="jpy", seller=kiln, category=pottery, basis_points=300)
    seller = FeeRule.objects.create(currency="jpy", seller=kiln, basis_points=400)
    client.force_login(make_platform_admin())
    page = _deleted_message(client, both)
    assert "Sales of Kiln Co in Pottery in JPY now pay the seller rule: 4 % with no fixed amount." in page
    page = _deleted_message(client, seller)
    assert "Other sales of Kiln Co in JPY now pay" in page and "the platform default: 7 % + ¥50" in page
    page = _deleted_message(client, FeeRule.objects.get(category=pottery))
    assert "Sales in Pottery in JPY now pay" in page and "the platform default: 7 % + ¥50" in page


@pytest.mark.parametrize("make_seller", [SellerFactory, jpy_seller], ids=["usd", "jpy"])
def test_a_shop_with_many_listings_reaches_every_one_page_by_page(client: Client, make_seller: type) -> None:
    """ "Your listings" showed every listing on one page: a shop of thousands got a page of megabytes."""
    seller = make_seller()
    ListingFactory.create_batch(55, seller=seller)
    client.force_login(seller.user)
    first = client.get("/sell/listings/").content.decode()
    second = client.get("/sell/listings/?page=2").content.decode()
    ids = re.findall(r'href="/sell/listings/(\d+)/edit/"', first) + re.findall(
        r'href="/sell/listings/(\d+)/edit/"', second
    )
    assert len(set(ids)) == 55 and 'rel="next"' in first and "Page 2 of 2" in second
    assert "Page 2 of 2" in client.get("/sell/listings/?page=9").content.decode()  # past the last: the last
    assert client.get("/sell/listings/?page=x").status_code == 200


INVISIBLE_TITLE = ("Give the listing a title people can see: at least one letter, digit or sign.", "title_invisible")
DIRECTION_CONTROLS = ("Leave out the direction controls", "title_direction_controls")


@pytest.mark.parametrize(
    ("title", "refusal"),
    [
        *((title, INVISIBLE_TITLE) for title in ["\u200b\u200b\u200b", "\u202e\u202e", "\u3164", "\u0301\u0301"]),
        *((title, DIRECTION_CONTROLS) for title in ["Mug \u202e00.1$", "\u2067Mug", "Mug\u202d (blue)"]),
    ],
)
def test_a_title_nobody_can_see_or_that_turns_text_around_is_refused_on_the_page_and_the_api(
    client: Client, title: str, refusal: tuple[str, str]
) -> None:
    """Zero-width spaces, bidi controls, a Hangul filler or lone accents pass `strip()` and were saved:
    a listing with a blank title on the storefront, in carts, orders and emails. A shop's name was
    refused so already (`marketplace.text.shows_something`).

    A right-to-left override in a title turns backwards whatever follows it on the same line: the
    price beside it in a cart or an order, "(now 2)" in the cart's sentence, the rest of an email
    subject. Arabic or Hebrew titles need none of these controls (the text's own letters set its
    direction), so they are refused rather than kept."""
    sentence, code = refusal
    listing = ListingFactory(title="Mug")
    client.force_login(listing.seller.user)
    form = {"title": title, "price": "12.50", "stock": "1", "category": listing.category_id}
    for url in (reverse("sell_listing_new"), reverse("sell_listing_edit", args=[listing.pk])):
        response = client.post(url, form)
        assert response.status_code == 422
        assert sentence in response.content.decode()
    api = client.patch(f"/api/v1/seller/listings/{listing.pk}", {"title": title}, content_type="application/json")
    assert (api.status_code, api.json()["error"]["code"]) == (422, code)
    assert list(Listing.objects.values_list("title", flat=True)) == ["Mug"]
    ok = client.patch(f"/api/v1/seller/listings/{listing.pk}", {"title": "كوب أزرق"}, content_type="application/json")
    assert ok.status_code == 200


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_published_listing_with_no_stock_left_says_sold_out(client: Client, currency: str) -> None:
    """A published listing sold out read "Published" and a 0 in the stock column: nothing said buyers
    can no longer buy it. A draft with no stock, or a subscription (never counted), says nothing."""
    seller = jpy_seller() if currency == "jpy" else SellerFactory()
    ListingFactory(seller=seller, title="Sold mug", stock=0, status=ListingStatus.PUBLISHED)
    ListingFactory(seller=seller, title="Stocked mug", stock=3, status=ListingStatus.PUBLISHED)
    ListingFactory(seller=seller, title="Draft mug", stock=0, status=ListingStatus.DRAFT)
    box = ListingFactory(seller=seller, title="Tea box", stock=0, status=ListingStatus.PUBLISHED)
    SubscriptionPlan.objects.create(listing=box, interval=Interval.MONTH)
    client.force_login(seller.user)
    page = client.get(reverse("sell_listings")).content.decode()
    rows = {row.split("</a>")[0].rsplit(">", 1)[-1]: row for row in page.split('data-testid="seller-listing"')[1:]}
    assert 'data-testid="sold-out"' in rows["Sold mug"]
    assert 'data-testid="sold-out"' not in rows["Stocked mug"]
    assert 'data-testid="sold-out"' not in rows["Draft mug"]
    assert 'data-testid="sold-out"' not in rows["Tea box"]  # sold by subscription: no stock counted


@pytest.mark.parametrize(
    ("currency", "wrong_price", "price"), [("usd", "12.505", "12.50"), ("jpy", "1,250.5", "1,250")]
)
@pytest.mark.parametrize("form", ["new", "edit"])
def test_an_image_chosen_in_a_refused_form_is_asked_for_again_by_name(
    client: Client, currency: str, wrong_price: str, price: str, form: str
) -> None:
    """A seller chose an image, got the price wrong, corrected it and saved: the listing had no image.
    Nothing is saved from a refused form and no browser sends the file again, and the page came back
    with the Image box empty and not a word about it. It now says so beside the box, naming the file;
    a file that is no image is said so at once, not after the other boxes are put right."""
    seller = jpy_seller() if currency == "jpy" else SellerFactory()
    category = CategoryFactory()
    client.force_login(seller.user)
    url = reverse("sell_listing_new")
    if form == "edit":
        listing = ListingFactory(seller=seller, currency=currency, price=1250, title="Tea bowl")
        url = reverse("sell_listing_edit", args=[listing.pk])
    fields = {"title": "Tea bowl", "price": wrong_price, "stock": "1", "category": category.pk}
    response = client.post(url, {**fields, "image": png_upload("kiln-photo.png")})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_price_error"' in page  # the price is what was wrong
    assert "Choose your image (“kiln-photo.png”) again: it was not saved, as the form was refused." in page

    response = client.post(url, {**fields, "image": SimpleUploadedFile("notes.png", b"hello", "image/png")})
    page = response.content.decode()
    assert "This file is not an image we accept (PNG, JPEG or WebP), or it is damaged." in page
    assert "again" not in page.split('id="id_image_error"')[1].split("</ul>")[0]

    response = client.post(url, {**fields, "price": price, "image": png_upload("kiln-photo.png")}, follow=True)
    assert response.status_code == 200
    listing = Listing.objects.get()
    assert (listing.price, listing.currency, listing.images.count()) == (1250, currency, 1)


def test_a_refused_form_without_an_image_says_nothing_of_one(client: Client) -> None:
    seller = SellerFactory()
    client.force_login(seller.user)
    fields = {"title": "Tea bowl", "price": "1.999", "stock": "1", "category": CategoryFactory().pk}
    response = client.post(reverse("sell_listing_new"), fields)
    assert response.status_code == 422
    assert "Choose your image" not in response.content.decode()
