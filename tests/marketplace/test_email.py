"""The SES path of email, against moto's SES."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from django.core.mail import EmailMultiAlternatives, get_connection
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses import ses_backends

SENDER = "noreply@marketplace.example"


@pytest.fixture
def ses(settings) -> Iterator[object]:  # type: ignore[no-untyped-def]
    settings.AWS_SES_REGION_NAME = "us-east-1"
    with mock_aws():
        client = boto3.client("ses", region_name="us-east-1")
        client.verify_email_identity(EmailAddress=SENDER)
        yield ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def test_ses_backend_sends_the_mime_message(ses) -> None:  # type: ignore[no-untyped-def]
    message = EmailMultiAlternatives("Your order", "Thanks for your order.", SENDER, ["buyer@example.com"])
    message.attach_alternative("<p>Thanks for your order.</p>", "text/html")
    connection = get_connection("marketplace.email.SesEmailBackend")
    assert connection.send_messages([message]) == 1
    assert len(ses.sent_messages) == 1
    raw = ses.sent_messages[0].raw_data
    assert "Subject: Your order" in raw and "<p>Thanks for your order.</p>" in raw
    assert "buyer@example.com" in ses.sent_messages[0].destinations


def test_ses_backend_raises_when_ses_refuses_an_unverified_sender(ses) -> None:  # type: ignore[no-untyped-def]
    message = EmailMultiAlternatives("Hi", "Body", "stranger@elsewhere.example", ["buyer@example.com"])
    connection = get_connection("marketplace.email.SesEmailBackend")
    with pytest.raises(Exception, match="authority to send"):
        connection.send_messages([message])
    silent = get_connection("marketplace.email.SesEmailBackend", fail_silently=True)
    assert silent.send_messages([message]) == 0
