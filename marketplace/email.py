"""Email: queued through the outbox, sent by a worker, through Amazon SES in production (the demo
prints to the console, tests use Django's mail outbox).

`email_queue` is how an email leaves a request: the rendered message is an outbox row, so neither a
broker outage nor an SES error can turn a page (sign-up, password reset) into a 500 or lose the
email; the outbox's worker or sweeper sends it once (`email_send_stored`). The app's own emails
(orders, sellers) are follow-ups that render when they are sent; allauth's are rendered in the
request, so they are stored whole (see `marketplace.account_adapter`).

The backend is a small one of our own rather than another dependency: SES's `send_raw_email` takes
the MIME message Django already builds, so attachments and HTML alternatives go through unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import boto3
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage, EmailMultiAlternatives

from marketplace.outbox.services import outbox_add

logger = logging.getLogger(__name__)


def email_subject(template: str, context: dict[str, Any]) -> str:
    """An email's subject from its template, on one line: a line break in a subject (a shop name or
    a title stored before forms refused them) makes Django refuse the whole email ("Header values
    can't contain newlines"), so every order confirmation of that shop would fail to send."""
    from django.template.loader import render_to_string

    return " ".join(render_to_string(template, context).split())


def email_queue(message: EmailMessage) -> None:
    """Store `message` in the outbox (in the caller's transaction, if any) to be sent by a worker."""
    stored = {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "content_subtype": message.content_subtype,
        "alternatives": [[str(content), mimetype] for content, mimetype in getattr(message, "alternatives", [])],
    }
    outbox_add("marketplace.email.send", stored)


def email_send_stored(stored: dict[str, Any]) -> None:
    """Send a message stored by `email_queue` (the outbox's follow-up)."""
    message = EmailMultiAlternatives(
        stored["subject"],
        stored["body"],
        stored["from_email"],
        stored["to"],
        cc=stored["cc"],
        bcc=stored["bcc"],
        reply_to=stored["reply_to"],
        headers=stored["headers"],
    )
    message.content_subtype = stored["content_subtype"]
    for content, mimetype in stored["alternatives"]:
        message.attach_alternative(content, mimetype)
    message.send()


class SesEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self._client: Any = None

    def open(self) -> bool:
        if self._client is None:
            self._client = boto3.client("ses", region_name=settings.AWS_SES_REGION_NAME)
            return True
        return False

    def close(self) -> None:
        self._client = None

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        self.open()
        sent = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            try:
                self._client.send_raw_email(
                    Source=message.from_email,
                    Destinations=recipients,
                    RawMessage={"Data": message.message().as_bytes(linesep="\r\n")},
                )
                sent += 1
            except Exception:
                logger.exception("SES refused a message to %s", recipients)
                if not self.fail_silently:
                    raise
        return sent
