"""The seller's pages: start selling, the seller home (status card), and the Stripe round trips.

Every page works on the signed-in user's own seller; the return and refresh pages carry the
seller id (Stripe keeps those URLs) and answer 404 to anyone but its owner.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from frontend.form_focus import focus_first_error
from marketplace.errors import DomainError, NotFound
from payouts.selectors import seller_home_overview
from sellers import selectors, services
from sellers.links import onboarding_urls
from sellers.models import Seller
from sellers.status import Situation

COUNTRY_CHOICES = [(code, name) for code, (name, _) in services.SUPPORTED_COUNTRIES.items()]
FIRST_COUNTRY = COUNTRY_CHOICES[0][0]
COUNTRYS_OWN = ""  # the currency box's first option: the country's own currency, whichever it is
COUNTRYS_OWN_LABEL = "The country's own currency"


class StartSellingForm(forms.Form):
    """The country decides the currency: the box starts at "the country's own" (USD for a US shop,
    JPY for a Japanese one), which needs no script; when the country changes, the page asks this
    form again for the new country (htmx: `sell_home` with `?country=`) and the box shows its
    currency, its other payout currencies next, and no other: it once listed every currency A to Z,
    AUD first, then each country's own first and the others after, which `seller_create` then refused.
    A currency posted for another country (the box of the country shown before, without a script)
    is refused beside the box, naming the country's."""

    shop_name = forms.CharField(max_length=120, label="Shop name")
    country = forms.ChoiceField(choices=COUNTRY_CHOICES, label="Country where your business is based")
    default_currency = forms.ChoiceField(required=False, label="Currency for prices and payouts")

    def __init__(self, *args: Any, country: str = FIRST_COUNTRY, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            country = str(self.data.get("country", ""))
        own = services.currencies_of(country)
        currency = self.fields["default_currency"]
        assert isinstance(currency, forms.ChoiceField)  # for mypy: declared so above
        currency.choices = [(COUNTRYS_OWN, COUNTRYS_OWN_LABEL), *((c, c.upper()) for c in own)]
        if own:  # else the country box says what is wrong
            allowed = ", ".join(c.upper() for c in own)
            currency.error_messages["invalid_choice"] = f"For this country, choose one of: {allowed}."
        self.fields["country"].widget.attrs.update(
            {
                "hx-get": reverse("sell_home"),
                "hx-trigger": "change",
                "hx-target": "#field-default_currency",
                "hx-select": "#field-default_currency",
                "hx-swap": "outerHTML",
            }
        )

    def clean_shop_name(self) -> str:
        name = str(self.cleaned_data["shop_name"])
        if refused := services.shop_name_refusal(name):
            raise forms.ValidationError(refused[1])
        return name


def start_form_for(country: str) -> StartSellingForm:
    """The empty form for `country` (as the page's country box asks it), or for the first country when
    it is not one we onboard: its currency box at that country's own currency."""
    if country not in services.SUPPORTED_COUNTRIES:
        return StartSellingForm(initial={"country": FIRST_COUNTRY, "default_currency": COUNTRYS_OWN})
    own = services.currencies_of(country)[0]
    return StartSellingForm(country=country, initial={"country": country, "default_currency": own})


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
        form = start_form_for(str(request.GET.get("country", "")))
        return render(request, "sell/start.html", {"form": form})
    overview, banner = seller_home_overview(seller=seller)
    if request.session.pop(RETURNED_FROM_ONBOARDING, False):
        messages.add_message(request, *return_message(overview))
    context = {"o": overview, "banner": banner, "country": services.country_name(seller.country)}
    return render(request, "sell/seller_home.html", context)


@login_required
@require_POST
def sell_start(request: HttpRequest) -> HttpResponse:
    form = StartSellingForm(request.POST)
    if not form.is_valid():
        focus_first_error(form)
        return render(request, "sell/start.html", {"form": form}, status=422)
    try:
        seller = services.seller_create(user=request.user, **form.cleaned_data)
        refresh_url, return_url = onboarding_urls(request, seller)
        link = services.seller_onboarding_link_create(seller=seller, refresh_url=refresh_url, return_url=return_url)
    except DomainError as exc:
        if exc.code in ("shop_name_taken", "shop_name_lookalike"):
            form.add_error("shop_name", exc.message)
            focus_first_error(form)
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
RETURN_MESSAGE_DUE = (messages.WARNING, "Stripe still needs a few things from you: see below.")
RETURN_MESSAGE_OTHERWISE = (messages.INFO, "You're back from Stripe: where your shop stands is below.")


def return_message(overview: selectors.SellerOverview) -> tuple[int, str]:
    """Past the situations above, "Stripe still needs" only when the card lists something: a shop Stripe
    restricted for a reason of its own (`listed`, `other`), or paused by the marketplace, has nothing to give."""
    if overview.message.situation in RETURN_MESSAGES:
        return RETURN_MESSAGES[overview.message.situation]
    return RETURN_MESSAGE_DUE if overview.due_sentences else RETURN_MESSAGE_OTHERWISE


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
