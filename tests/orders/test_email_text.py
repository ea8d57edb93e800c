"""Emails are plain text: what a seller or buyer typed reaches the reader as typed, never HTML-escaped."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from orders import emails
from orders.models import Order, RefundRequest
from tests.catalog.factories import SellerFactory
from tests.factories import UserFactory

EMAIL_TEMPLATES = Path(settings.BASE_DIR) / "frontend" / "templates" / "emails"


@pytest.mark.django_db
def test_a_shop_name_with_an_ampersand_reads_as_typed_in_subject_and_body() -> None:
    seller = SellerFactory(shop_name="Kiln & Co <Tea>")
    order = Order.objects.create(
        buyer=UserFactory(), seller=seller, currency="usd", amount_total=1000, application_fee_amount=100
    )
    emails.send_order_confirmation(order)
    (sent,) = mail.outbox
    assert "Kiln & Co <Tea>" in sent.subject
    assert "&amp;" not in sent.subject + sent.body and "&lt;" not in sent.subject + sent.body


def test_every_email_template_turns_html_escaping_off() -> None:
    templates = sorted(EMAIL_TEMPLATES.glob("*.txt"))
    assert templates
    assert [t.name for t in templates if "{% autoescape off %}" not in t.read_text()] == []


@pytest.mark.django_db
def test_a_shop_name_stored_on_two_lines_still_gets_its_orders_confirmed() -> None:
    """Forms now refuse line breaks in shop names, but one stored before would make Django refuse
    every email with it in the subject ("Header values can't contain newlines")."""
    seller = SellerFactory(shop_name="Kiln\r\nand Co")
    order = Order.objects.create(
        buyer=UserFactory(), seller=seller, currency="usd", amount_total=1000, application_fee_amount=100
    )
    emails.send_order_confirmation(order)
    (sent,) = mail.outbox
    assert "Kiln and Co" in sent.subject and "\n" not in sent.subject


@pytest.mark.django_db
def test_the_buyers_refund_request_email_says_who_has_it_in_its_subject() -> None:
    """The subject read "We passed your refund request for order 6 on", which looks cut off in an inbox:
    it says now whose shop has the request, as the email's first line does."""
    seller = SellerFactory(shop_name="Kiln & Co")
    order = Order.objects.create(
        buyer=UserFactory(), seller=seller, currency="jpy", amount_total=1000, application_fee_amount=100
    )
    request = RefundRequest.objects.create(order=order, reason="damaged", amount=1000)
    emails.send_refund_request_received(request)
    (sent,) = mail.outbox
    assert sent.subject == f"[Marketplace] Your refund request for order {order.pk} is with Kiln & Co"
