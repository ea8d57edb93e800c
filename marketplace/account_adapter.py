"""allauth's adapter: its emails (address confirmation, password reset) go through the outbox, and
their links point at `SITE_URL`.

allauth sends them inside the request with the email backend; an SES hiccup was then a 500 on the
sign-up or password-reset page and the email was gone. Queued, the page answers at once and a
worker sends the email, retried until it goes (`marketplace.email.email_queue`).

allauth builds the links and the site's name from the request's Host header. Behind a proxy that
passes any Host through, or with a `*` in `DJANGO_ALLOWED_HOSTS`, a reset asked for someone else's
address with `Host: evil.example` mailed them a link to that host, reset key included. The emails
name the site as `SITE_URL` does, as the order emails do (`orders.emails`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.conf import settings
from django.core.exceptions import ValidationError

from marketplace.email import email_queue
from marketplace.models import User

# The context's links of allauth's emails: confirmation, reset, and "an account already exists".
LINKS = ("activate_url", "password_reset_url", "signup_url")


@dataclass(frozen=True)
class _Site:
    """What allauth's templates read of `current_site`."""

    domain: str
    name: str


def on_site(url: str) -> str:
    """`url` with the scheme and host of `SITE_URL`: its path, query and fragment kept."""
    site = urlsplit(settings.SITE_URL)
    parts = urlsplit(url)
    return str(urlunsplit((site.scheme, site.netloc, parts.path, parts.query, parts.fragment)))


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth ships no type hints
    def clean_email(self, email: str) -> str:
        """Refuse an address longer than the user table's column (254, what an email address may be):
        allauth would cut it to fit (`user_field`), keeping an account whose address lost its domain,
        which no confirmation reaches and which the address typed never signs in to. Signing up and
        adding an address both ask this."""
        limit = User._meta.get_field("email").max_length or 254
        if len(email) > limit:
            raise ValidationError(f"An email address has at most {limit} characters.", code="email_too_long")
        return str(super().clean_email(email))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        host = urlsplit(settings.SITE_URL).netloc
        ctx = {"email": email, **context, "current_site": _Site(domain=host, name=host)}
        ctx.update({name: on_site(str(ctx[name])) for name in LINKS if ctx.get(name)})
        email_queue(self.render_mail(template_prefix, email, ctx))

    def get_reauthentication_methods(self, user: Any) -> list[dict[str, Any]]:
        """A staff user with no authenticator app re-authenticates only by a code emailed to a verified
        address: the password is what a thief has (`marketplace.mfa_enrolment`)."""
        from marketplace.mfa_enrolment import needs_email_proof

        methods: list[dict[str, Any]] = super().get_reauthentication_methods(user)
        if needs_email_proof(user):
            return [method for method in methods if method["id"] == "reauthenticate_by_code"]
        return methods

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """Such a user adds, removes or changes an email address only after that code: else a thief adds
        an address of theirs, confirms it from their inbox, and has the code sent there."""
        from marketplace.mfa_enrolment import has_verified_email, needs_email_proof

        user = getattr(context.request, "user", None)
        if app == "allauth.account" and user is not None and needs_email_proof(user) and has_verified_email(user):
            return True
        return bool(super().is_reauthentication_required(app=app, **kwargs))
