"""The seller's listing pages in the Sell area: list, create, edit, publish, unpublish, images.

Every page works on the signed-in user's own seller; another seller's listing is a 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from catalog import selectors, services
from catalog.forms import ListingForm
from catalog.images import clean_image_upload
from frontend.form_focus import focus_first_error
from frontend.paging import page_number
from marketplace import money
from marketplace.errors import InvalidInput, NotFound
from sellers.models import Seller
from sellers.selectors import seller_can_sell
from sellers.status import listings_sentence
from subscriptions.selectors import subscribers_price_sentence

# Which form field a service error belongs to, so the message appears next to it.
LISTINGS_PER_PAGE = 50
ERROR_FIELDS = {
    "price_below_minimum": "price",
    "price_above_maximum": "price",
    "title_required": "title",
    "title_one_line": "title",
    "description_too_long": "description",
    "negative_stock": "stock",
    "stock_too_high": "stock",
    "image_empty": "image",
    "image_too_large": "image",
    "image_type": "image",
    "image_too_many_pixels": "image",
    "too_many_images": "image",
}


def _seller_or_none(request: HttpRequest) -> Seller | None:
    if not request.user.is_authenticated:
        return None
    return Seller.objects.filter(user_id=request.user.pk).first()


def _seller(request: HttpRequest) -> Seller:
    seller = _seller_or_none(request)
    if seller is None:
        raise Http404("You don't have a shop yet.")
    return seller


def _own_listing(seller: Seller, listing_id: int) -> Any:
    try:
        return selectors.listing_for_seller(seller=seller, listing_id=listing_id)
    except NotFound:
        raise Http404("No such listing.") from None


def _attach_error(form: ListingForm, exc: InvalidInput) -> None:
    form.add_error(ERROR_FIELDS.get(exc.code), exc.message)


def _image_asked_again(request: HttpRequest, form: ListingForm) -> None:
    """A refused form saved nothing, its image neither, and no browser sends a chosen file a second
    time: the page came back with the Image box empty and not a word, and the seller who put the price
    right saved a listing without its image. Said beside the box, naming the file; a file that is no
    image we take is said so now (`clean_image_upload`), not once the other boxes are right."""
    upload = request.FILES.get("image")
    if upload is None or "image" in form.errors:
        return
    try:
        clean_image_upload(upload)
    except InvalidInput as exc:
        form.add_error("image", exc.message)
        return
    name = Truncator(upload.name or "").chars(60)
    form.add_error("image", f"Choose your image (“{name}”) again: it was not saved, as the form was refused.")


@login_required
def listings(request: HttpRequest) -> HttpResponse:
    seller = _seller_or_none(request)
    if seller is None:
        messages.info(request, "Open a shop first, then list your products.")
        return redirect("sell_home")
    page = Paginator(selectors.listings_for_seller(seller=seller), LISTINGS_PER_PAGE).get_page(page_number(request))
    return render(
        request,
        "sell/listings.html",
        {
            "seller": seller,
            "listings": list(page),
            "page": page,
            "can_sell": seller_can_sell(seller),
            "hidden_because": listings_sentence(seller),
        },
    )


@login_required
def listing_new(request: HttpRequest) -> HttpResponse:
    seller = _seller(request)
    currency = money.normalise_currency(seller.default_currency)
    form = ListingForm(request.POST or None, request.FILES or None, currency=currency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            listing = services.listing_create(
                seller=seller,
                title=data["title"],
                description=data["description"],
                price=data["price"],
                stock=data["stock"],
                category=data["category"],
                image=data.get("image"),
                image_alt=data.get("image_alt") or "",
                form_token=_form_token(request),
            )
        except InvalidInput as exc:
            _attach_error(form, exc)
        else:
            messages.success(request, f"“{listing.title}” is saved as a draft. Publish it when you are ready.")
            return redirect("sell_listing_edit", listing_id=listing.pk)
    status = 422 if request.method == "POST" else 200
    if request.method == "POST":
        _image_asked_again(request, form)
    focus_first_error(form)
    # A refused form keeps its token: nothing was made with it, and a double click of the fixed form
    # must still make one draft.
    token = _form_token(request) or uuid.uuid4().hex
    return render(
        request, "sell/listings_form.html", {"form": form, "listing": None, "form_token": token}, status=status
    )


def _form_token(request: HttpRequest) -> str:
    """The listing form's hidden token (`catalog.services.listing_create` and `listing_update` say
    what it does), or "" when none or not one of ours: the form then works as before tokens existed."""
    raw = request.POST.get("form_token", "")
    return raw if raw.isascii() and raw.isalnum() and len(raw) <= 64 else ""


def _stock_shown(request: HttpRequest) -> int | None:
    """The stock the edit form showed when it was opened (its hidden `stock_shown`), if it was sent."""
    raw = request.POST.get("stock_shown", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


@login_required
def listing_edit(request: HttpRequest, listing_id: int) -> HttpResponse:
    seller = _seller(request)
    listing = _own_listing(seller, listing_id)
    initial = {
        "title": listing.title,
        "description": listing.description,
        "price": money.format_major_units(listing.price, listing.currency),
        "stock": listing.stock,
        "category": listing.category_id,
    }
    form = ListingForm(request.POST or None, request.FILES or None, currency=listing.currency, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {k: data[k] for k in ("title", "description", "price", "stock", "category")}
        try:
            services.listing_update(
                listing=listing,
                data=fields,
                image=data.get("image"),
                image_alt=data.get("image_alt") or "",
                stock_seen=_stock_shown(request),
                edit_token=_form_token(request),
            )
        except InvalidInput as exc:
            listing.refresh_from_db()
            _attach_error(form, exc)
        else:
            kept = subscribers_price_sentence(listing=listing)
            messages.success(request, f"Your changes are saved. {kept}".strip())
            return redirect("sell_listing_edit", listing_id=listing.pk)
    status = 422 if request.method == "POST" else 200
    if request.method == "POST":
        _image_asked_again(request, form)
    focus_first_error(form)
    shown = _stock_shown(request)
    context = {
        "form": form,
        "listing": listing,
        "stock_shown": listing.stock if shown is None else shown,  # kept as first shown when refused
        "form_token": _form_token(request) or uuid.uuid4().hex,  # kept when refused: nothing was applied
        "images": selectors.listing_images(listing=listing),
        # Published is not enough to be in the shop: the seller must be able to sell (the link 404'd).
        "in_shop": listing.is_published and seller_can_sell(seller),
    }
    return render(request, "sell/listings_form.html", context, status=status)


@login_required
@require_POST
def listing_publish(request: HttpRequest, listing_id: int) -> HttpResponse:
    listing = _own_listing(_seller(request), listing_id)
    try:
        services.listing_publish(listing=listing)
    except InvalidInput as exc:
        messages.error(request, f"Not published: {exc.message}")
    else:
        messages.success(request, f"“{listing.title}” is published.")
    return redirect("sell_listings")


@login_required
@require_POST
def listing_unpublish(request: HttpRequest, listing_id: int) -> HttpResponse:
    listing = _own_listing(_seller(request), listing_id)
    services.listing_unpublish(listing=listing)
    messages.success(request, f"“{listing.title}” is no longer shown in the shop.")
    return redirect("sell_listings")


@login_required
@require_POST
def listing_image_remove(request: HttpRequest, listing_id: int, image_id: int) -> HttpResponse:
    listing = _own_listing(_seller(request), listing_id)
    image = listing.images.filter(pk=image_id).first()
    if image is None:  # a double click, or a second tab: the seller's own listing, only the image is gone
        messages.info(request, "This image was already removed.")
        return redirect("sell_listing_edit", listing_id=listing.pk)
    services.listing_image_remove(image=image)
    messages.success(request, "The image is removed.")
    return redirect("sell_listing_edit", listing_id=listing.pk)


urlpatterns = [
    path("sell/listings/", listings, name="sell_listings"),
    path("sell/listings/new/", listing_new, name="sell_listing_new"),
    path("sell/listings/<int:listing_id>/edit/", listing_edit, name="sell_listing_edit"),
    path("sell/listings/<int:listing_id>/publish/", listing_publish, name="sell_listing_publish"),
    path("sell/listings/<int:listing_id>/unpublish/", listing_unpublish, name="sell_listing_unpublish"),
    path(
        "sell/listings/<int:listing_id>/images/<int:image_id>/remove/",
        listing_image_remove,
        name="sell_listing_image_remove",
    ),
]
