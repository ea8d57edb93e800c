"""The cart follows the buyer on login. The receiver only forwards to the service: no logic lives here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from catalog.services import cart_merge_on_login


@receiver(user_logged_in, dispatch_uid="catalog_cart_merge_on_login")
def merge_cart_on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        cart_merge_on_login(user=user, session=request.session)
