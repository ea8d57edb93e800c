"""The cart follows the buyer on login, and the storefront's cache follows every change to what it shows.
The receivers only forward: no logic lives here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from catalog.cache import storefront_changed
from catalog.models import Category, Listing, ListingImage
from catalog.services import cart_merge_on_login
from sellers.models import Seller


@receiver(user_logged_in, dispatch_uid="catalog_cart_merge_on_login")
def merge_cart_on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        cart_merge_on_login(user=user, session=request.session)


# The storefront's cache (catalog/cache.py) is replaced on every saved or deleted row that a buyer's page
# shows: receivers, not calls in each service, so that no way of writing is missed (the services, the
# Django admin, the webhook handlers that update sellers). Writes through `QuerySet.update()` send no
# signal: those call `storefront_changed()` themselves (the stock taken and given back by checkout).
STOREFRONT_MODELS = (Listing, ListingImage, Category, Seller)


def storefront_row_changed(sender: Any, **kwargs: Any) -> None:
    storefront_changed()


for model in STOREFRONT_MODELS:
    post_save.connect(storefront_row_changed, sender=model, dispatch_uid=f"storefront_cache_{model.__name__}_save")
    post_delete.connect(storefront_row_changed, sender=model, dispatch_uid=f"storefront_cache_{model.__name__}_delete")
