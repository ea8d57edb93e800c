"""The console's seller page lists the shop's subscriptions and their paid payments (amount, status,
refunded so far), each payment with a link that fills the console's refund form with its Stripe
invoice id: before, an admin could refund one only by typing an id found somewhere else. A fixed
number of queries however many rows there are."""

from __future__ import annotations

import pytest

from payments.models import Payment
from tests.catalog.factories import ListingFactory, SellerFactory
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import signed_in
from tests.subscriptions.factories import paid_invoice, subscription
from tests.subscriptions.test_pages import queries

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("currency", "price", "paid", "refunded"), [("usd", 2_000, "$20.00", "$5.00"), ("jpy", 2_000, "¥2,000", "¥500")]
)
def test_the_seller_page_lists_its_subscription_payments_each_with_a_way_to_refund_it(
    currency: str, price: int, paid: str, refunded: str
) -> None:
    seller = SellerFactory(default_currency=currency)
    box = ListingFactory(seller=seller, title="Coffee box", price=price, currency=currency)
    buyer = UserFactory(email="subscriber@example.com")
    invoice = paid_invoice(subscription(buyer, box))
    Payment.objects.filter(pk=invoice.payment_id).update(amount_refunded=500)
    other_shop = paid_invoice(subscription(UserFactory(), ListingFactory(title="Tea tin", currency=currency)))
    admin = signed_in(make_platform_admin())
    url = f"/console/sellers/{seller.pk}/"

    page = admin.get(url).content.decode()
    subs = page.split('data-testid="seller-subscriptions"')[1].split("</section>")[0]
    assert "Coffee box" in subs and "subscriber@example.com" in subs and "Active" in subs
    assert "Tea tin" not in subs and other_shop.stripe_invoice_id not in subs
    row = subs.split('data-testid="seller-sub-payment"')[1].split("</tr>")[0]
    assert paid in row and f"{refunded} refunded" in row and "Succeeded" in row
    link = f'href="/console/refunds/?stripe_id={invoice.stripe_invoice_id}"'
    assert link in row

    form = admin.get(f"/console/refunds/?stripe_id={invoice.stripe_invoice_id}").content.decode()
    assert f'name="stripe_id" required autocomplete="off" value="{invoice.stripe_invoice_id}"' in form
    assert 'id="sub-amount" name="amount" inputmode="decimal" autocomplete="off" value="" autofocus' in form
    assert 'id="sub-from-seller" name="from_seller" checked' in form  # as the empty form: taken from the seller

    one = queries(admin, url)
    for _ in range(3):
        sub = subscription(UserFactory(), box)
        paid_invoice(sub, 1)
        paid_invoice(sub, 2)
    assert queries(admin, url) == one


def test_a_payment_refunded_in_full_offers_no_refund_and_a_shop_without_subscriptions_says_so() -> None:
    seller = SellerFactory()
    admin = signed_in(make_platform_admin())
    page = admin.get(f"/console/sellers/{seller.pk}/").content.decode()
    assert 'data-testid="seller-no-subscriptions"' in page and 'data-testid="seller-sub-payment"' not in page

    invoice = paid_invoice(subscription(UserFactory(), ListingFactory(seller=seller, price=900)))
    Payment.objects.filter(pk=invoice.payment_id).update(amount_refunded=900)
    row = admin.get(f"/console/sellers/{seller.pk}/").content.decode().split('data-testid="seller-sub-payment"')[1]
    assert "refunded in full" in row.split("</tr>")[0] and "stripe_id=" not in row.split("</tr>")[0]


def test_the_refund_form_takes_no_odd_stripe_id_from_the_address() -> None:
    """What the address brings is only shown back in the box (escaped, capped), never acted on."""
    admin = signed_in(make_platform_admin())
    answer = admin.get("/console/refunds/", {"stripe_id": '"><script>x</script>' + "a" * 400})
    assert answer.status_code == 200
    assert "<script>x</script>" not in answer.content.decode()
