"""allauth's adapter: its emails (address confirmation, password reset) go through the outbox, and
their links point at `SITE_URL`.

allauth sends them inside the request with the email backend; an SES hiccup was then a 500 on the
sign-up or password-reset page and the email was gone. Queued, the page answers at once and a
worker sends the email, retried until it goes (`marketplace.email.email_queue`).

allauth builds the links and the site's name from the request's Host header. Behind a proxy that
passes any Host through, or with a `*` in `DJANGO_ALLOWED_HOSTS`, a reset asked for someone else's
address with `Host: evil.example` mailed them a link to that host, reset key included. The emails
name the site as `SITE_URL` does, as the order emails do (`orders.emails`), and greet with its
name, `SITE_NAME` (not the host: the demo's emails said "Hello from 127.0.0.1:8000!").

Failed sign-ins are counted per client address and per (address, account), with a per-account
ceiling that only many addresses together reach (`ACCOUNT_RATE_LIMITS`, and `pre_authenticate`
below for why): allauth counted them per account alone, and a stranger kept its owner locked out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.internal import ratelimit
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from marketplace.email import email_queue
from marketplace.models import User

# The context's links of allauth's emails: confirmation, reset, and "an account already exists".
LINKS = ("activate_url", "password_reset_url", "signup_url")
# Our action in `ACCOUNT_RATE_LIMITS`: failed sign-ins at one account from every address together.
ACCOUNT_CEILING = "login_failed_account"


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
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # Said to the owner too, when strangers' tries hold the account at its ceiling: the way in.
        "too_many_login_attempts": "Too many failed login attempts. Try again later, or reset your password "
        "to sign in now: the link we email you signs you in.",
    }

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """The key of allauth's "login_failed" rate counted per "key": the client address and the account,
        where allauth has the account alone. allauth asks it both when counting a failed sign-in and when a
        password reset clears the count, so both see the pair. A private method of allauth (65.22), the
        one its maintainer names for this (django-allauth issue 3584); tests/marketplace/test_login_lockout.py
        fails if a new allauth stops asking it."""
        return f"{ratelimit.get_ip(request)}:{self._account_key(request, **credentials)}"

    def _account_key(self, request: HttpRequest, **credentials: Any) -> str:
        """The account as typed, lower-cased. allauth puts its Site's domain in front, which with no Site
        row is the request's Host header: each name the site answers to (any, with a `*` in
        DJANGO_ALLOWED_HOSTS) gave a stranger another five guesses. There is one site here."""
        return str(credentials.get("email", credentials.get("username", ""))).lower()

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Count the try against the address, the (address, account) pair, and the account's ceiling.

        A stranger at one address is stopped by the first two and never nears the third, so the owner
        at another address signs in. Only many addresses at once reach the ceiling; then the owner
        signs in by a reset link (`ACCOUNT_LOGIN_ON_PASSWORD_RESET`). A try refused at the ceiling tests
        no password, so it gives back what it took of the first two: the owner's own limit stays whole.
        A right password gives back all three (allauth's rollback of `_login_failed_rl_usage`)."""
        super().pre_authenticate(request, **credentials)
        ceiling = ratelimit.consume(
            request, app="allauth.account", action=ACCOUNT_CEILING, key=self._account_key(request, **credentials)
        )
        if not ceiling:
            self._rollback_login_failed_rl_usage()
            raise self.validation_error("too_many_login_attempts")
        self._login_failed_rl_usage.usage.extend(ceiling.usage)

    def _delete_login_attempts_cached_email(self, request: HttpRequest, **credentials: Any) -> None:
        """A password reset (its link proves the inbox) clears the account's ceiling too, not only the
        count of the address the reset was made from."""
        super()._delete_login_attempts_cached_email(request, **credentials)
        ratelimit.clear(
            request, app="allauth.account", action=ACCOUNT_CEILING, key=self._account_key(request, **credentials)
        )

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
        ctx = {"email": email, **context, "current_site": _Site(domain=host, name=settings.SITE_NAME)}
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
