"""Email through Amazon SES in production (the demo prints to the console, tests use the outbox).

A small backend of our own rather than another dependency: SES's `send_raw_email` takes the MIME
message Django already builds, so attachments and HTML alternatives go through unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import boto3
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

logger = logging.getLogger(__name__)


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
