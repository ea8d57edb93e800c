"""`/api/v1/seller/`: the signed-in user's own seller, never anyone else's (no id in any path:
the seller is always the one of the session, so another seller's data is not addressable), and
opening one (`POST`), as the Start selling form does."""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest
from ninja import Router, Status

from marketplace.errors import Conflict
from marketplace.schemas import errors
from payouts.selectors import seller_home_overview
from sellers import selectors, services
from sellers.links import onboarding_urls
from sellers.models import Seller
from sellers.schemas import FailedPayoutOut, LinkOut, RequirementsOut, SellerIn, SellerOut

router = Router(tags=["seller"])


def _out(request: HttpRequest) -> SellerOut:
    seller = selectors.seller_for_user(user=request.user)
    o, banner = seller_home_overview(seller=seller)
    reqs = seller.requirements
    return SellerOut(
        id=seller.pk,
        shop_name=seller.shop_name,
        country=seller.country,
        default_currency=seller.default_currency,
        status=o.status,
        status_label=o.status_label,
        status_headline=o.message.headline,
        status_explanation=o.message.sentence,
        disabled_reason=seller.disabled_reason or None,
        disabled_reason_sentence=o.disabled_reason_sentence,
        details_submitted=seller.details_submitted,
        charges_enabled=seller.charges_enabled,
        payouts_enabled=seller.payouts_enabled,
        can_sell=o.can_sell,
        capabilities=seller.capabilities,
        requirements=RequirementsOut(
            currently_due=reqs.get("currently_due") or [],
            past_due=reqs.get("past_due") or [],
            eventually_due=reqs.get("eventually_due") or [],
            pending_verification=reqs.get("pending_verification") or [],
            current_deadline=seller.current_deadline,
            sentences=o.due_sentences,
            errors=o.errors,
        ),
        bank_errored=o.bank_errored,
        failed_payout=FailedPayoutOut(
            id=banner.payout.pk,
            amount=banner.payout.amount,
            currency=banner.payout.currency,
            sentence=banner.sentence,
            bank_updated=banner.bank_updated,
        )
        if banner
        else None,
    )


@router.get("/seller/", response={200: SellerOut, **errors(404)}, url_name="seller_detail")
def seller_detail(request: HttpRequest) -> SellerOut:
    return _out(request)


# 409: the user has a shop already; 422: a name, country or currency refused (`error.code` says which);
# 502: Stripe could not be reached (the same call again finishes the shop it began).
@router.post("/seller/", response={201: SellerOut, **errors(409, 422, 502)}, url_name="seller_create")
def seller_create(request: HttpRequest, payload: SellerIn) -> Status[SellerOut]:
    """Open the user's shop and its Stripe Express account, then `POST /seller/onboarding-link`. A shop
    whose account Stripe did not make (unreachable) is finished by the same call again, as the form's
    second submit does; one that has its account is a 409."""
    if Seller.objects.filter(user_id=int(request.user.pk or 0), stripe_account_id__isnull=False).exists():
        raise Conflict("You already have a shop: GET /api/v1/seller/ shows it.", code="seller_exists")
    services.seller_create(
        user=request.user,
        shop_name=payload.shop_name,
        country=payload.country,
        default_currency=payload.default_currency,
    )
    return Status(201, _out(request))


# 409: the Stripe account is disconnected; 502: Stripe could not be reached.
@router.post(
    "/seller/onboarding-link", response={200: LinkOut, **errors(404, 409, 502)}, url_name="seller_onboarding_link"
)
def seller_onboarding_link(request: HttpRequest) -> LinkOut:
    seller = selectors.seller_for_user(user=request.user)
    refresh_url, return_url = onboarding_urls(request, seller)
    link = services.seller_onboarding_link_create(seller=seller, refresh_url=refresh_url, return_url=return_url)
    expires = datetime.fromtimestamp(link.expires_at, tz=UTC) if link.expires_at else None
    return LinkOut(url=link.url, expires_at=expires)


# 409: onboarding unfinished or account disconnected; 502: Stripe could not be reached.
@router.post(
    "/seller/dashboard-link", response={200: LinkOut, **errors(404, 409, 502)}, url_name="seller_dashboard_link"
)
def seller_dashboard_link(request: HttpRequest) -> LinkOut:
    seller = selectors.seller_for_user(user=request.user)
    return LinkOut(url=services.seller_dashboard_link_create(seller=seller))
