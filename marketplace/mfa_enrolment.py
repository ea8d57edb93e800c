"""A staff user's first authenticator app is set up only after a code emailed to the account's
verified address.

Staff must pass their app (`marketplace.middleware.PlatformAdminMfaMiddleware`), and one without an
app is sent to set one up. allauth's set-up page asked only for the password again, so whoever had
stolen an admin's password set up *their* app and then passed the very check meant to stop them.
The password proves nothing the thief lacks; the inbox does. allauth's own "re-authenticate by
code" does the proving (its code expires after `ACCOUNT_LOGIN_BY_CODE_TIMEOUT`, dies after
`ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS` wrong tries, and its requests are rate limited, see
`ACCOUNT_RATE_LIMITS`): for such a user it is the only way to re-authenticate (`AccountAdapter`),
adding or changing an address needs it too (else the thief adds and confirms an address of theirs
and has the code sent there), and the set-up page opens only to a session that passed it recently.

Buyers and sellers set up an app as allauth has it (their password again); so does a staff user
who already has one (their app's code is the proof). Signing in with an app is unchanged.
"""

from __future__ import annotations

import time
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.authentication import get_authentication_records
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.views import activate_totp as allauth_activate_totp
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

EMAIL_CODE_FIRST = (
    "Before you set up an authenticator app, we email you a code to prove this account's address is yours: "
    "choose the address, then type the code from the email."
)
NO_VERIFIED_EMAIL = (
    "This account has no verified email address, so an authenticator app cannot be set up yet: "
    "verify your address first (the email we sent has the link), or ask another platform admin."
)


def needs_email_proof(user: Any) -> bool:
    """Does setting up an app take a code from the inbox: an active staff user with no app yet?"""
    return bool(
        user.is_authenticated
        and user.is_staff
        and user.is_active
        and not Authenticator.objects.filter(user=user).exists()
    )


def has_verified_email(user: Any) -> bool:
    return bool(EmailAddress.objects.filter(user=user, verified=True).exists())


def _proved_email_recently(request: HttpRequest) -> bool:
    """Did this session type a code emailed to the user within allauth's re-authentication window?
    A password typed again, however recently, does not count."""
    now = time.time()
    return any(
        record.get("method") == "code"
        and record.get("reauthenticated")
        and record.get("email")
        and now - record.get("at", 0) < account_settings.REAUTHENTICATION_TIMEOUT
        for record in get_authentication_records(request, request.user)
    )


def activate_totp(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """allauth's set-up page, behind the emailed code for staff without an app (its GET shows the
    new secret, its POST keeps it: both are behind it)."""
    if needs_email_proof(request.user) and not _proved_email_recently(request):
        if not has_verified_email(request.user):
            messages.error(request, NO_VERIFIED_EMAIL)
            return redirect("account_email")
        messages.info(request, EMAIL_CODE_FIRST)
        ask = reverse("account_request_reauthentication_code")
        return redirect(f"{ask}?{urlencode({'next': request.path})}")
    response: HttpResponse = allauth_activate_totp(request, *args, **kwargs)
    return response
