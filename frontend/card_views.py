"""The buyer's saved cards, and "Buy now" with one.

Saving happens on Stripe's hosted page (`mode=setup`); the list, the default and removal are read
from and written to Stripe (the cards live on the buyer's Customer, never here), one row per card
with the subscriptions it pays for. "Buy now" pays one
unit of a listing with a saved card: paid at once, or after Stripe's 3-D Secure page, which sends
the buyer back to `buy_now_return`. Views parse, call one service, render.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from frontend.storefront_views import back_to_listing, posted_quantity
from marketplace.errors import DomainError, NotFound
from orders import selectors
from orders.models import Order, OrderStatus
from orders.services import saved_cards


@login_required
@require_GET
def cards(request: HttpRequest) -> HttpResponse:
    """The cards as Stripe has them. When Stripe cannot be read the page says so in place of the
    list: "You have no saved cards." told a buyer whose cards were all there that they were gone.
    Why it failed is said once: a failed "Add a card" already put the same sentence above."""
    unreadable: str | None = None
    try:
        found = saved_cards.saved_cards_for(user=request.user)
    except DomainError as exc:
        found = []
        said = {str(m) for m in messages.get_messages(request)}
        unreadable = "" if exc.message in said else exc.message
    context = {"cards": found, "unreadable": unreadable, "attempt": uuid.uuid4().hex}
    return render(request, "orders/cards.html", context)


OUT_OF_DATE = "the page was out of date. Press the button again."


def _attempt(request: HttpRequest) -> str | None:
    """The form's one-time token (a double submit sends it twice), drawn when its page was; None
    without one. Each form's Stripe keys are made of it: a form without one (an old page, curl)
    would need a random key and cannot be told from its own second click, so it does nothing and
    the page says so."""
    try:
        return uuid.UUID(request.POST.get("attempt", "")).hex
    except ValueError:
        return None


@login_required
@require_POST
def card_add(request: HttpRequest) -> HttpResponse:
    """303 to Stripe's page that saves a card."""
    back = request.build_absolute_uri(reverse("saved_cards"))
    done = request.build_absolute_uri(reverse("saved_card_added")) + "?session_id={CHECKOUT_SESSION_ID}"
    attempt = _attempt(request)
    if attempt is None:
        messages.error(request, f"Nothing was started: {OUT_OF_DATE}")
        return redirect("saved_cards")
    try:
        url = saved_cards.saved_card_setup_start(user=request.user, attempt=attempt, success_url=done, cancel_url=back)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("saved_cards")
    return HttpResponseRedirect(url, status=303)


@login_required
@require_GET
def card_added(request: HttpRequest) -> HttpResponse:
    session_id = request.GET.get("session_id", "")
    if not session_id.startswith("cs_"):
        raise Http404("No such card setup.")
    try:
        card = saved_cards.saved_card_setup_finish(user=request.user, session_id=session_id)
    except NotFound:
        raise Http404("No such card setup.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("saved_cards")
    if card is None:
        messages.warning(request, "The card was not saved.")
    elif len(card.payment_methods) > 1:
        messages.info(request, f"{card.label} was saved already: it is listed once.")
    else:
        messages.success(request, f"Saved: {card.label}{' (your default card)' if card.is_default else ''}.")
    return redirect("saved_cards")


@login_required
@require_POST
def card_default(request: HttpRequest, payment_method: str) -> HttpResponse:
    """Make the card the default, and move the buyer's live subscriptions to it (the same form, on
    the default's row, moves the subscriptions other cards pay for). The page's token and the buyer's
    count of card changes are part of every Stripe key of the change (`_attempt`), so a double post is
    one change and a change back to an earlier card from the same page is another. A card no longer
    saved (removed in another tab) comes back to the cards page with `saved_cards.CARD_GONE`."""
    attempt = _attempt(request)
    if attempt is None:
        messages.error(request, f"Nothing was changed: {OUT_OF_DATE}")
        return redirect("saved_cards")
    try:
        change = saved_cards.saved_card_make_default(user=request.user, payment_method=payment_method, attempt=attempt)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, change.message)
    return redirect("saved_cards")


@login_required
@require_POST
def card_remove(request: HttpRequest, payment_method: str) -> HttpResponse:
    """Remove the card; the subscriptions it pays move to the default first, or, with no other card,
    nothing is removed and the sentence says why. Clicked twice, the second post finds the card gone
    and comes back to the cards page with `saved_cards.CARD_GONE`, as another buyer's card does."""
    try:
        change = saved_cards.saved_card_remove(user=request.user, payment_method=payment_method)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, change.message)
    return redirect("saved_cards")


@login_required
@require_POST
def buy_now(request: HttpRequest, listing_id: int) -> HttpResponse:
    """Pay now, with the saved card named in the form, for the quantity in the page's box (Buy now
    is a second button of the Add to cart form); a quantity out of 1..stock comes back to the
    listing with the sentence, nothing charged; 303 to the 3-D Secure page when the
    bank asks for it. A decline comes back to the listing with the bank's reason (the quantity
    typed still in its box, `back_to_listing`). The form sent again
    with another card pays nothing more: the first card's payment is shown as it stands (or the
    listing says it is on its way: `saved_cards.buy_now`)."""
    attempt = _attempt(request)
    if attempt is None:
        messages.error(request, f"Nothing was charged: {OUT_OF_DATE}")
        return redirect("storefront_listing", listing_id=listing_id)
    return_url = request.build_absolute_uri(reverse("buy_now_return")) + "?order={ORDER_ID}"
    try:
        started = saved_cards.buy_now(
            buyer=request.user,
            listing_id=listing_id,
            payment_method=request.POST.get("payment_method", ""),
            attempt=attempt,
            return_url=return_url,
            price_seen=_price_seen(request),
            quantity=posted_quantity(request),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return back_to_listing(request, listing_id)
    if started.redirect_url:
        return HttpResponseRedirect(started.redirect_url, status=303)
    return _after(request, started.order, again=started.again)


def _price_seen(request: HttpRequest) -> tuple[int, str] | None:
    """The price the listing's page showed next to the button (its hidden `price` and `currency`)."""
    try:
        return int(request.POST.get("price", "")), request.POST.get("currency", "")
    except ValueError:
        return None


@login_required
@require_GET
def buy_now_return(request: HttpRequest) -> HttpResponse:
    """Stripe's 3-D Secure page sends the buyer here; the PaymentIntent is re-read, never trusted
    from the query string."""
    try:
        order = selectors.order_for_buyer(buyer=request.user, order_id=int(request.GET.get("order", "")))
        order = saved_cards.buy_now_settle(order=order, payment_intent=request.GET.get("payment_intent", ""))
    except (ValueError, NotFound):
        raise Http404("No such payment.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("order_list")
    return _after(request, order)


@login_required
@require_POST
def buy_now_resume(request: HttpRequest, order_id: int) -> HttpResponse:
    """The "Continue to your bank's check" button of a Buy now's order page (the buyer closed the 3-D Secure
    page): 303 to that page again while Stripe still waits on it, else the order as Stripe settled it."""
    try:
        order = selectors.order_for_buyer(buyer=request.user, order_id=order_id)
        resumed = saved_cards.buy_now_resume(order=order)
    except NotFound:
        raise Http404("No such order.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("order_detail", order_id=order_id)
    if resumed.redirect_url:
        return HttpResponseRedirect(resumed.redirect_url, status=303)
    return _after(request, resumed.order)


def _after(request: HttpRequest, order: Order, again: bool = False) -> HttpResponse:
    """The order's page once paid, else the listing with why not. `again`: the form was sent before
    (Back, a double click, whose second answer is the one shown), and the sentence says it paid once,
    as Add to cart's does: the same thanks alone read as a second payment."""
    if order.is_paid:
        once = " Pressed twice: paid once." if again else ""
        messages.success(request, f"Thank you! Your payment went through.{once}")
        return redirect("order_detail", order_id=order.pk)
    if order.status == OrderStatus.PAYMENT_FAILED:
        messages.error(request, order.status_message)
        return redirect("storefront_listing", listing_id=order.lines.values_list("listing_id", flat=True)[0])
    return redirect("order_detail", order_id=order.pk)


urlpatterns = [
    path("listing/<int:listing_id>/buy-now/", buy_now, name="buy_now"),
    path("buy-now/return/", buy_now_return, name="buy_now_return"),
    path("orders/<int:order_id>/buy-now/continue/", buy_now_resume, name="buy_now_resume"),
    path("account/cards/", cards, name="saved_cards"),
    path("account/cards/add/", card_add, name="saved_card_add"),
    path("account/cards/added/", card_added, name="saved_card_added"),
    path("account/cards/<str:payment_method>/default/", card_default, name="saved_card_default"),
    path("account/cards/<str:payment_method>/remove/", card_remove, name="saved_card_remove"),
]
