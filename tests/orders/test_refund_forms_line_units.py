"""Units of one line refused on "Some items" (the buyer's request, the seller's own refund) are said
beside that line's box, which is marked invalid, described by the sentence and focused, the units kept;
they were flashed at the top of the page, out of sight on a phone. USD and JPY, the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.html import escape

from orders.models import Order, RefundRequest
from payments.models import Refund
from tests.orders.test_refund_forms_text_limits import _beside, _value
from tests.orders.test_refunds import _client, _paid_two_lines

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_units_of_a_line_refused_on_the_buyers_request_are_said_beside_that_lines_box(
    sandbox: Any, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    buyer = _client(Order.objects.get(pk=order.pk).buyer)
    mug, vase = order.lines.get(title="Mug"), order.lines.get(title="Vase")
    url = f"/orders/{order.pk}/refund-request/"
    form = {"reason": "damaged", "scope": "lines", f"qty_{mug.pk}": "1", f"qty_{vase.pk}": "one"}

    page = buyer.post(url, form, follow=True).content.decode()
    _beside(page, f"qty-{vase.pk}", "Enter a number of “Vase”.")
    assert (_value(page, f"qty-{vase.pk}"), _value(page, f"qty-{mug.pk}")) == ("one", "1")
    assert page.count(escape("Enter a number of “Vase”.")) == 1, "beside the box, not flashed at the top too"

    form[f"qty_{vase.pk}"] = "2"  # one vase was bought: a form whose `max` was taken off
    page = buyer.post(url, form, follow=True).content.decode()
    _beside(page, f"qty-{vase.pk}", "At most 1 of “Vase” can be refunded (asked: 2).")
    assert _value(page, f"qty-{vase.pk}") == "2"
    assert not RefundRequest.objects.exists()

    form[f"qty_{vase.pk}"] = "\uff11"  # a full-width 1, as a Japanese keyboard types it
    buyer.post(url, form)
    assert RefundRequest.objects.get().amount == 7_000


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_units_of_a_line_refused_on_the_sellers_refund_are_said_beside_that_lines_box(
    sandbox: Any, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    seller = _client(order.seller.user)
    mug = order.lines.get(title="Mug")
    form = {"reason": "Out of stock", f"qty_{mug.pk}": "3"}

    page = seller.post(f"/sell/orders/{order.pk}/refund/", form, follow=True).content.decode()

    _beside(page, f"sqty-{mug.pk}", "At most 2 of “Mug” can be refunded (asked: 3).")
    assert (_value(page, f"sqty-{mug.pk}"), _value(page, "refund-reason")) == ("3", "Out of stock")
    assert not Refund.objects.exists()


def test_units_refused_of_a_line_refunded_since_are_said_at_the_top(sandbox: Any) -> None:
    """A form drawn before the line's last unit was refunded has no box left for it: the sentence is
    said at the top, not lost."""
    order, _, _ = _paid_two_lines(sandbox, "usd")
    seller = _client(order.seller.user)
    vase = order.lines.get(title="Vase")
    seller.post(f"/sell/orders/{order.pk}/refund/", {f"qty_{vase.pk}": "1"})
    assert Refund.objects.count() == 1

    page = seller.post(f"/sell/orders/{order.pk}/refund/", {f"qty_{vase.pk}": "1"}, follow=True).content.decode()

    assert "At most 0 of “Vase” can be refunded (asked: 1)." in page
    assert f'id="sqty-{vase.pk}"' not in page and 'aria-invalid="true"' not in page
    assert Refund.objects.count() == 1
