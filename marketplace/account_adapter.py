"""allauth's adapter: its emails (address confirmation, password reset) go through the outbox.

allauth sends them inside the request with the email backend; an SES hiccup was then a 500 on the
sign-up or password-reset page and the email was gone. Queued, the page answers at once and a
worker sends the email, retried until it goes (`marketplace.email.email_queue`).
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site

from marketplace.email import email_queue


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth ships no type hints
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request), **context}
        email_queue(self.render_mail(template_prefix, email, ctx))
