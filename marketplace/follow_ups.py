"""Follow-ups of the platform core, delivered through the outbox."""

from __future__ import annotations

from typing import Any

from marketplace.email import email_send_stored
from marketplace.outbox.services import follow_up


@follow_up("marketplace.email.send")
def send_stored_email(stored: dict[str, Any]) -> None:
    email_send_stored(stored)
