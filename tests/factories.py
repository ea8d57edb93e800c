from __future__ import annotations

from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group

from marketplace.models import User

PASSWORD = "correct-horse-battery-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)
        if create:
            self.save()


TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def with_totp(user: User) -> None:
    """Give `user` an authenticator app (allauth's TOTP) whose codes `totp_code()` reads."""
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": TOTP_SECRET})


def totp_code(secret: str = TOTP_SECRET) -> str:
    """The code an app with `secret` shows now, with at least 3 s of its period left. allauth accepts
    the current period's code only (`MFA_TOTP_TOLERANCE` 0), and a code read in the last milliseconds of
    a period reached the server in the next (one failed full run). allauth refuses a code used twice in
    its period for one user."""
    import time

    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    period = app_settings.TOTP_PERIOD
    while period - time.time() % period < 3:  # a condition on the clock: the next period starts soon
        time.sleep(0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def make_platform_admin(**kwargs: Any) -> User:
    user = UserFactory(is_staff=True, **kwargs)
    # get_or_create: a transactional test's flush removes the group its data migration made.
    user.groups.add(Group.objects.get_or_create(name="platform admins")[0])
    return user
