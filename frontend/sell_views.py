"""The seller's pages: start selling, the seller home (status card), and the Stripe round trips.

Every page works on the signed-in user's own seller; the return and refresh pages carry the
seller id (Stripe keeps those URLs) and answer 404 to anyone but its owner.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from marketplace.errors import DomainError, NotFound
from marketplace.text import DIRECTION_CONTROLS_REFUSED, has_direction_controls, on_one_line
from payouts.selectors import payout_failure_banner
from sellers import selectors, services
from sellers.links import onboarding_urls
from sellers.models import Seller
from sellers.status import Situation

COUNTRY_CHOICES = [(code, name) for code, (name, _) in services.SUPPORTED_COUNTRIES.items()]
CURRENCY_CHOICES = [(c, c.upper()) for c in services.SUPPORTED_CURRENCIES]


class StartSellingForm(forms.Form):
    shop_name = forms.CharField(max_length=120, label="Shop name")
    country = forms.ChoiceField(choices=COUNTRY_CHOICES, label="Country where your business is based")
    default_currency = forms.ChoiceField(choices=CURRENCY_CHOICES, label="Currency for prices and payouts")

    def clean_shop_name(self) -> str:
        name = str(self.cleaned_data["shop_name"])
        if not services.shop_name_visible(name):
            raise forms.ValidationError(services.SHOP_NAME_INVISIBLE)
        if not on_one_line(name):
            raise forms.ValidationError(services.SHOP_NAME_ONE_LINE)
        if has_direction_controls(name):
            raise forms.ValidationError(DIRECTION_CONTROLS_REFUSED)
        if mixed := services.shop_name_mixed_alphabets(name):
            raise forms.ValidationError(mixed)
        return name

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        country, currency = data.get("country"), data.get("default_currency")
        if country and currency and currency not in services.SUPPORTED_COUNTRIES[str(country)][1]:
            allowed = ", ".join(c.upper() for c in services.SUPPORTED_COUNTRIES[str(country)][1])
            self.add_error("default_currency", f"For this country, choose one of: {allowed}.")
        return data


def _own_seller(request: HttpRequest) -> Seller | None:
    try:
        return selectors.seller_for_user(user=request.user)
    except NotFound:
        return None


@login_required
@require_GET
def sell_home(request: HttpRequest) -> HttpResponse:
    seller = _own_seller(request)
    if seller is None:
        return render(request, "sell/start.html", {"form": StartSellingForm()})
    overview = selectors.seller_overview(seller=seller)
    if request.session.pop(RETURNED_FROM_ONBOARDING, False):
        level, text = RETURN_MESSAGES.get(overview.message.situation, RETURN_MESSAGE_OTHERWISE)
        messages.add_message(request, level, text)
    banner = payout_failure_banner(account=seller.stripe_account_id) if seller.stripe_account_id else None
    return render(request, "sell/seller_home.html", {"o": overview, "banner": banner})


@login_required
@require_POST
def sell_start(request: HttpRequest) -> HttpResponse:
    form = StartSellingForm(request.POST)
    if not form.is_valid():
        return render(request, "sell/start.html", {"form": form}, status=422)
    try:
        seller = services.seller_create(user=request.user, **form.cleaned_data)
        refresh_url, return_url = onboarding_urls(request, seller)
        link = services.seller_onboarding_link_create(seller=seller, refresh_url=refresh_url, return_url=return_url)
    except DomainError as exc:
        if exc.code in ("shop_name_taken", "shop_name_lookalike"):
            form.add_error("shop_name", exc.message)
            return render(request, "sell/start.html", {"form": form}, status=exc.status)
        messages.error(request, exc.message)
        if _own_seller(request) is not None:
            return redirect("sell_home")
        return render(request, "sell/start.html", {"form": form}, status=exc.status)
    return redirect(link.url)


@login_required
@require_POST
def sell_onboarding_continue(request: HttpRequest) -> HttpResponse:
    seller = _own_seller(request)
    if seller is None:
        return redirect("sell_home")
    return _to_fresh_link(request, seller)


def _to_fresh_link(request: HttpRequest, seller: Seller) -> HttpResponse:
    refresh_url, return_url = onboarding_urls(request, seller)
    try:
        link = services.seller_onboarding_link_create(seller=seller, refresh_url=refresh_url, return_url=return_url)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("sell_home")
    return redirect(link.url)


@login_required
@require_GET
def sell_onboarding_refresh(request: HttpRequest, seller_id: int) -> HttpResponse:
    """Stripe's refresh_url: the link expired or was used. Only the owner gets a new one."""
    try:
        seller = selectors.seller_owned_by(user=request.user, seller_id=seller_id)
    except NotFound:
        raise Http404 from None
    return _to_fresh_link(request, seller)


# The sentence the seller home shows once after the return from Stripe, chosen from the same row
# (and the same moment) as the status it shows: the two cannot disagree, even when an
# `account.updated` webhook lands between the return and the page.
RETURNED_FROM_ONBOARDING = "sell_returned_from_onboarding"
RETURN_MESSAGES = {
    Situation.ACTIVE: (messages.SUCCESS, "You're all set: your shop can take payments."),
    Situation.PENDING_VERIFICATION: (messages.INFO, "Thanks! Stripe is verifying your details."),
    Situation.ONBOARDING: (messages.WARNING, "Onboarding isn't finished yet. Continue whenever you're ready."),
    Situation.LATER: (messages.INFO, "Thanks! Stripe needs a few more details before your shop can take payments."),
}
RETURN_MESSAGE_OTHERWISE = (messages.WARNING, "Stripe still needs a few things from you: see below.")


@login_required
@require_GET
def sell_onboarding_return(request: HttpRequest, seller_id: int) -> HttpResponse:
    """Stripe's return_url. Coming back says nothing about completion: read the account now (under
    the same row lock and newest-snapshot rule as the webhooks), then let the seller home say how
    it went, from the state it shows (see RETURN_MESSAGES)."""
    try:
        seller = selectors.seller_owned_by(user=request.user, seller_id=seller_id)
    except NotFound:
        raise Http404 from None
    try:
        services.seller_refresh_from_stripe(seller=seller)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("sell_home")
    request.session[RETURNED_FROM_ONBOARDING] = True
    return redirect("sell_home")


@login_required
@require_POST
def sell_dashboard(request: HttpRequest) -> HttpResponse:
    seller = _own_seller(request)
    if seller is None:
        return redirect("sell_home")
    try:
        url = services.seller_dashboard_link_create(seller=seller)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("sell_home")
    return redirect(url)
