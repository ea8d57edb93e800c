"""Stock held by orders, shared by checkout and the payment lifecycle. Callers hold the order's row lock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Case, F, Value, When
from django.utils import timezone

from catalog.cache import storefront_changed
from catalog.models import Listing
from fees.policy import FeeLine, fee_for
from orders.models import Order, OrderLine


def lock_listings(ids: Iterable[int]) -> dict[int, Listing]:
    """Row locks on listings, always in id order: two checkouts sharing listings queue, never deadlock."""
    wanted = sorted(set(ids))
    return {listing.pk: listing for listing in Listing.objects.select_for_update().filter(pk__in=wanted).order_by("pk")}


def change_stock(by: dict[int, int]) -> None:
    """Add `by[listing id]` (negative: take) to each listing's stock, in one UPDATE whatever the number of
    listings (the caller holds their row locks), and tell the storefront's cache: an UPDATE sends no signal,
    and the listing page and the API show the stock."""
    if not by:
        return
    delta = Case(*(When(pk=pk, then=Value(units)) for pk, units in by.items()), default=Value(0))
    Listing.objects.filter(pk__in=list(by)).update(stock=F("stock") + delta)
    storefront_changed()


def release_stock(order: Order, *, locked: dict[int, Listing] | None = None) -> None:
    """Give the order's units back to its listings (the caller holds the order's row lock).

    `locked`: the caller's listings read under their row locks, whose `stock` gets the units back too,
    since the UPDATE does not change them: a checkout that replaces a pending order then checks the
    stock it may take with the units that order held (a cart raised from 2 to 3 of the last 3)."""
    if not order.stock_reserved:
        return
    lines = list(order.lines.all())
    lock_listings(line.listing_id for line in lines)
    units = _units(lines, 1)
    change_stock(units)
    for pk, back in units.items():
        if locked is not None and pk in locked:
            locked[pk].stock += back
    order.stock_reserved = False


def try_reserve(order: Order) -> bool:
    """Take the order's units off stock, all or nothing (the caller holds the order's row lock)."""
    if order.stock_reserved:
        return True
    lines = list(order.lines.all())
    locked = lock_listings(line.listing_id for line in lines)
    if any(locked[line.listing_id].stock < line.quantity for line in lines):
        return False
    change_stock(_units(lines, -1))
    order.stock_reserved = True
    return True


def _units(lines: Iterable[OrderLine], sign: int) -> dict[int, int]:
    units: dict[int, int] = {}
    for line in lines:
        units[line.listing_id] = units.get(line.listing_id, 0) + sign * line.quantity
    return units


def close_order(order: Order, status: str, message: str, *, locked: dict[int, Listing] | None = None) -> None:
    release_stock(order, locked=locked)
    order.status = status
    order.status_message = message
    order.closed_at = timezone.now()
    order.save(update_fields=["status", "status_message", "closed_at", "stock_reserved", "updated_at"])


def order_create_reserving(
    *, buyer: Any, seller: Any, currency: str, quantities: dict[int, int], locked: dict[int, Listing], **fields: Any
) -> tuple[Order, list[OrderLine]]:
    """A pending order of `quantities` (listing id -> units, in the cart's order) at the locked
    listings' prices, its fee quoted by the seller's policy line by line, its lines, and its units
    taken from stock (the caller holds the listings' row locks, in its transaction). `fields`: the
    rest of the order (its cart fingerprint, its checkout group)."""
    listing_ids = list(quantities)
    quote = fee_for(
        seller=seller,
        lines=[
            FeeLine(amount=locked[pk].price * quantities[pk], currency=currency, category_id=locked[pk].category_id)
            for pk in listing_ids
        ],
    )
    order = Order.objects.create(
        buyer=buyer,
        seller=seller,
        currency=currency,
        amount_total=quote.amount,
        application_fee_amount=quote.fee,
        stock_reserved=True,  # taken below
        **fields,
    )
    lines = OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            listing_id=pk,
            title=locked[pk].title,
            unit_amount=locked[pk].price,
            quantity=quantities[pk],
            fee_amount=fee_line.fee,
        )
        for pk, fee_line in zip(listing_ids, quote.lines, strict=True)
    )
    change_stock({pk: -quantities[pk] for pk in listing_ids})
    return order, lines
