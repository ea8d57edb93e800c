"""Failed sign-ins and account emails are limited so that guessing and flooding stop, and a stranger
cannot lock the owner out.

allauth counted failed sign-ins per account wherever they came from: five wrong passwords every five
minutes from anyone locked a seller or an admin out for as long as the stranger kept it up. The limits
now count per client address and per (address, account), with a per-account ceiling only many
addresses together reach, and a reset link from the owner's inbox still signs the owner in."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from typing import Any

import pytest
from allauth.core.internal import ratelimit
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LIMITED = "Too many failed login attempts"
OWNER = "owner@example.com"
STRANGER_IP = "203.0.113.66"
OWNER_IP = "198.51.100.7"


def _rate(action: str, per: str) -> ratelimit.Rate:
    """The one rate of `action` counted `per` ip/key, as the settings give it."""
    (rate,) = [rate for rate in ratelimit.parse_rates(settings.ACCOUNT_RATE_LIMITS[action]) if rate.per == per]
    return rate


def _log_in(client: Client, password: str, email: str = OWNER) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """allauth's rate-limit clock, moved on by the test (`clock[0] += 3600`) instead of waiting."""
    now = [time.time()]
    monkeypatch.setattr(
        ratelimit, "time", SimpleNamespace(time=lambda: now[0], monotonic=time.monotonic, sleep=time.sleep)
    )
    return now


def test_a_stranger_guessing_from_one_address_is_stopped_but_the_owner_elsewhere_signs_in(clean_cache: None) -> None:
    UserFactory(email=OWNER)
    stranger = Client(REMOTE_ADDR=STRANGER_IP)
    pages = [_log_in(stranger, f"guess-{n}").content.decode() for n in range(20)]
    allowed = _rate("login_failed", "key").amount  # per (address, account)
    assert not any(LIMITED in page for page in pages[:allowed])
    assert all(LIMITED in page for page in pages[allowed:])
    # Stopped even with the right password: the stranger learns nothing from guess number six.
    assert LIMITED in _log_in(stranger, PASSWORD).content.decode() and not _signed_in(stranger)

    owner = Client(REMOTE_ADDR=OWNER_IP)
    response = _log_in(owner, PASSWORD)
    assert response.status_code == 302 and _signed_in(owner)


def test_guesses_under_other_host_names_count_as_one(settings: Any, clean_cache: None) -> None:
    """allauth keyed the count by the request's host as well (its Site, here the Host header): with
    more than one name served (or a `*` in DJANGO_ALLOWED_HOSTS) each name gave five more guesses."""
    settings.ALLOWED_HOSTS = ["*"]
    UserFactory(email=OWNER)
    stranger = Client(REMOTE_ADDR=STRANGER_IP)
    pages = [
        stranger.post(
            reverse("account_login"), {"login": OWNER, "password": f"guess-{n}"}, HTTP_HOST=f"h{n}.example"
        ).content.decode()
        for n in range(_rate("login_failed", "key").amount + 1)
    ]
    assert LIMITED not in pages[-2] and LIMITED in pages[-1]


def test_one_address_guessing_across_accounts_is_stopped(clean_cache: None) -> None:
    stranger = Client(REMOTE_ADDR=STRANGER_IP)
    per_ip = _rate("login_failed", "ip").amount
    pages = [_log_in(stranger, "guess", email=f"someone-{n}@example.com").content.decode() for n in range(per_ip + 1)]
    assert not any(LIMITED in page for page in pages[:per_ip]) and LIMITED in pages[per_ip]


def test_no_single_address_reaches_the_per_account_ceiling_in_its_window() -> None:
    """The most one address can fail against one account within the ceiling's window stays below it."""
    ceiling = _rate("login_failed_account", "key")
    pair = _rate("login_failed", "key")
    per_ip = _rate("login_failed", "ip")
    one_address = min(pair.amount * -(-ceiling.duration // pair.duration), per_ip.amount * ceiling.duration / 60)
    assert one_address < ceiling.amount


def test_many_addresses_together_reach_the_ceiling_and_a_reset_link_still_lets_the_owner_in(
    clean_cache: None, django_capture_on_commit_callbacks: Any
) -> None:
    UserFactory(email=OWNER)
    pair = _rate("login_failed", "key").amount
    ceiling = _rate("login_failed_account", "key").amount
    for n in range(-(-ceiling // pair)):  # a botnet: every address stays under its own limits
        bot = Client(REMOTE_ADDR=f"10.{n // 250}.{n % 250}.1")
        for _ in range(pair):
            _log_in(bot, "guess")
    owner = Client(REMOTE_ADDR=OWNER_IP)
    page = _log_in(owner, PASSWORD).content.decode()
    assert LIMITED in page and "reset your password" in page and not _signed_in(owner)

    # The owner's inbox is the way in: the reset link signs them in at once.
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("account_reset_password"), {"email": OWNER})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    form_page = owner.get(link.group(1), follow=True)
    new_password = "another-long-phrase-7"
    owner.post(form_page.request["PATH_INFO"], {"password1": new_password, "password2": new_password})
    assert _signed_in(owner)
    # And the ceiling starts again: the new password works from anywhere.
    elsewhere = Client(REMOTE_ADDR="192.0.2.44")
    assert _log_in(elsewhere, new_password).status_code == 302 and _signed_in(elsewhere)


def test_a_right_password_gives_back_what_it_used_of_every_limit(clean_cache: None) -> None:
    """A successful sign-in does not count: an owner signing in often never nears a limit."""
    UserFactory(email=OWNER)
    owner = Client(REMOTE_ADDR=OWNER_IP)
    for _ in range(_rate("login_failed", "key").amount + 2):
        assert _log_in(owner, PASSWORD).status_code == 302
        owner.post(reverse("account_logout"))


# --- Emails a stranger can have sent to someone: a few an hour per address, and per asking address -----


def _ask_reset(client: Client, email: str) -> Any:
    return client.post(reverse("account_reset_password"), {"email": email})


def test_password_reset_emails_to_one_address_are_a_few_an_hour(
    clean_cache: None, clock: list[float], django_capture_on_commit_callbacks: Any
) -> None:
    UserFactory(email=OWNER)
    per_address = _rate("reset_password", "key")
    assert per_address.duration >= 3600 and per_address.amount <= 5
    with django_capture_on_commit_callbacks(execute=True):
        answers = [_ask_reset(Client(REMOTE_ADDR=f"10.0.0.{n}"), OWNER) for n in range(1, 20)]
    assert [a.status_code for a in answers[: per_address.amount]] == [302] * per_address.amount
    refused = answers[per_address.amount]
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode() and 'href="/"' in refused.content.decode()
    assert len(mail.outbox) == per_address.amount
    # The link in any of those emails still works: the limit never keeps the owner from resetting.
    clock[0] += per_address.duration + 1
    with django_capture_on_commit_callbacks(execute=True):
        assert _ask_reset(Client(REMOTE_ADDR="10.0.0.99"), OWNER).status_code == 302
    assert len(mail.outbox) == per_address.amount + 1


def test_password_reset_emails_asked_from_one_address_are_limited(
    clean_cache: None, django_capture_on_commit_callbacks: Any
) -> None:
    per_ip = _rate("reset_password", "ip")
    assert per_ip.duration >= 3600
    stranger = Client(REMOTE_ADDR=STRANGER_IP)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [_ask_reset(stranger, f"victim-{n}@example.com").status_code for n in range(per_ip.amount + 1)]
    assert answers == [302] * per_ip.amount + [429]
    assert len(mail.outbox) == per_ip.amount  # "no account with this address" emails, each to its own victim
    assert _ask_reset(Client(REMOTE_ADDR=OWNER_IP), OWNER).status_code == 302


def test_emailed_codes_to_one_address_are_a_few_an_hour(
    client: Client, clean_cache: None, clock: list[float], django_capture_on_commit_callbacks: Any
) -> None:
    from urllib.parse import urlencode

    from tests.factories import make_platform_admin

    per_address = _rate("request_login_code", "key")
    assert per_address.duration >= 3600 and per_address.amount <= 5
    assert _rate("request_login_code", "ip").duration >= 3600
    admin = make_platform_admin(email="root@example.com")
    client.force_login(admin)
    ask = reverse("account_request_reauthentication_code") + "?" + urlencode({"next": reverse("mfa_activate_totp")})
    sent = 0
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(per_address.amount + 3):
            clock[0] += 61  # past any per-minute limit, still inside the hour
            response = client.post(ask, {"recipient": admin.email})
            sent += response.status_code == 302
    assert sent == per_address.amount
    assert "Too many" in response.content.decode()
    assert len(mail.outbox) == per_address.amount


def test_account_exists_emails_to_one_address_are_a_few_an_hour(
    clean_cache: None, clock: list[float], django_capture_on_commit_callbacks: Any
) -> None:
    """Signing up with someone's address emails them ("you already have an account", or a confirmation
    link): allauth's default was one every 3 minutes per address, 20 an hour, from any number of strangers."""
    UserFactory(email=OWNER)
    per_address = _rate_of("confirm_email", per="key", longest=False)
    hourly = _rate_of("confirm_email", per="key", longest=True)
    assert hourly.duration >= 3600 and hourly.amount <= 5 and per_address.duration >= 180
    post = {"email": OWNER, "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"}
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(hourly.amount + 3):
            clock[0] += per_address.duration + 1  # past the cooldown, still inside the hour
            response = Client(REMOTE_ADDR=f"10.0.1.{n}").post(reverse("account_signup"), post)
            assert response.status_code == 302  # the same answer every time: nothing tells the limit either
    assert len(mail.outbox) == hourly.amount


def _rate_of(action: str, *, per: str, longest: bool) -> ratelimit.Rate:
    rates = [rate for rate in ratelimit.parse_rates(settings.ACCOUNT_RATE_LIMITS[action]) if rate.per == per]
    return max(rates, key=lambda rate: rate.duration) if longest else min(rates, key=lambda rate: rate.duration)
