"""A seller is a user with a shop and, behind it, a Stripe Connect Express account.

The Stripe side of the seller (details submitted, charges/payouts enabled, capabilities,
requirements, disabled reason) is mirrored here by `sellers.services.seller_refresh_from_stripe`
(and cleared by `seller_mark_disconnected`); nothing else writes those columns. `status` is a
denormalised column derived from them (and from the platform's own pause / Stripe's deauthorization)
by `sellers.status.derive_status`, kept by the same services: storing it lets the console filter and
count by status in SQL and lets listings join on it cheaply, while deriving it in one pure function
keeps it impossible to contradict the columns it is computed from.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction

from marketplace.text import BLANK_CHARACTERS, skeleton

# Drawn as nothing though not format characters: the combining grapheme joiner, Khmer's inherent
# vowels, Mongolian's variation selectors, the variation selectors. Letters or symbols drawn as a
# blank (`marketplace.text.BLANK_CHARACTERS`: NFKC leaves the Hangul fillers as U+1160 or U+115F) read
# as a space.
_DRAWN_AS_NOTHING = re.compile("[\u034f\u17b4\u17b5\u180b-\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def _read_as(c: str) -> str:
    if c in BLANK_CHARACTERS:
        return " "
    if unicodedata.category(c) == "Cf" or _DRAWN_AS_NOTHING.match(c):
        return ""
    return c


SHOP_NAME_TAKEN = "Another shop already has this name. Choose one of your own, so buyers can tell the two shops apart."
SHOP_NAME_LOOKALIKE = (
    "This name looks the same as another shop's, written with letters of another alphabet drawn alike."
    " Choose one of your own, so buyers can tell the two shops apart."
)


def _as_drawn(shop_name: str) -> str:
    """Compatibility forms folded (NFKC), characters drawn as nothing dropped, those drawn as a blank spaces."""
    return "".join(_read_as(c) for c in unicodedata.normalize("NFKC", shop_name))


def shop_name_key(shop_name: str) -> str:
    """The name as people read it, for telling whether two shops would have the same name to a buyer.

    Compatibility forms are folded (NFKC: full-width "\uff32osen" is "Rosen", the ligature "\ufb01"
    is "fi"), then case (`casefold`: "STRASSE" is "stra\u00dfe"), characters drawn as nothing are dropped
    (a zero-width space, a direction mark, a variation selector), those drawn as a blank are spaces,
    and spaces count once, none around the name."""
    folded = unicodedata.normalize("NFKC", _as_drawn(shop_name).casefold())
    return " ".join(folded.split())


def shop_name_looks(shop_name: str) -> set[str]:
    """The name as people see it, for telling whether two shops would look the same to a buyer: its
    looks, none of which another shop may hold (`ShopNameLook`), beside the first key (`shop_name_key`).

    A look is Unicode's confusables skeleton (UTS #39, `marketplace.text.skeleton`: each letter
    replaced by the one it is drawn like) of the name as drawn (see `shop_name_key`), three ways:
    - as written, UTS #39's own comparison: "lKEA" with a small L looks like "IKEA", "lce" like "Ice";
    - in capitals: "KIT" in Cyrillic capitals looks like Latin "KIT", which the first key refuses
      beside a shop "kit" as the same name, so it is refused too, and so is the same name in Cyrillic
      small letters (one name to the first key). Capitals are where Latin, Greek and Cyrillic look
      alike: the Cyrillic small Ka is not drawn as "k";
    - in small letters: "modem" looks like "modern" ("rn" is drawn as "m"), and so does "MODEM".
    Capitals and small letters are those of the case-folded name ("STRA\u1e9eE" with a capital
    sharp s is "STRASSE" in capitals), so they are the same however a shop writes its name's case.

    No look is case folded after the skeleton: it draws a capital "I" as a small "l", which folding
    then cannot tell from a small "L" (migration 0005's one key, folded so, refused "ALI" beside
    "ALL" and "KILN" beside "KLLN", and let Cyrillic "KIT" pass beside "kit"). A shop's looks are
    one pool, not a column each: a name as written that looks like another shop's in capitals
    ("lKEA" beside "ikea") clashes too. A word mixing alphabets is refused before the looks are asked
    (`sellers.services.shop_name_mixed_alphabets`)."""
    drawn = _as_drawn(shop_name)
    folded = drawn.casefold()
    return {" ".join(skeleton(text).split()) for text in (drawn, folded.upper(), folded)}


class SellerStatus(models.TextChoices):
    ONBOARDING = "onboarding", "Onboarding"
    PENDING_VERIFICATION = "pending_verification", "Pending verification"
    ACTIVE = "active", "Active"
    ACTION_REQUIRED = "action_required", "Action required"
    RESTRICTED = "restricted", "Restricted"
    REJECTED = "rejected", "Rejected"
    PAUSED = "paused", "Paused by the platform"
    DISCONNECTED = "disconnected", "Disconnected"


def empty_requirements() -> dict[str, Any]:
    return {"currently_due": [], "eventually_due": [], "past_due": [], "pending_verification": [], "errors": []}


class SellerQuerySet(models.QuerySet["Seller"]):
    def sellable(self) -> SellerQuerySet:
        """Sellers whose listings may be shown and bought: Stripe lets them charge, we have not paused
        them, and they have not disconnected their account from the platform."""
        return self.filter(charges_enabled=True, paused_at__isnull=True, disconnected_at__isnull=True).exclude(
            stripe_account_id__isnull=True
        )


SellerManager = models.Manager.from_queryset(SellerQuerySet)


# The fields that mirror the seller's Stripe account: written only from Stripe (services._apply_account),
# never edited by hand (read-only in the admin).
STRIPE_MIRROR_FIELDS = (
    "details_submitted",
    "charges_enabled",
    "payouts_enabled",
    "capabilities",
    "requirements",
    "current_deadline",
    "disabled_reason",
    "charges_first_enabled_at",
    "stripe_state_updated_at",
)


class Seller(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="seller")
    shop_name = models.CharField(max_length=120)
    shop_name_key = models.TextField(  # noqa: DJ001 - null, not "": the shops left without a key must not collide
        null=True,
        blank=True,
        editable=False,
        help_text="`shop_name_key(shop_name)`, unique: no two shops read alike. Null only for shops that "
        "shared a name with an older one before the check existed (migration 0004).",
    )
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. US, JP")
    default_currency = models.CharField(max_length=3, help_text="Lowercase ISO 4217, e.g. usd, jpy")
    created_at = models.DateTimeField(auto_now_add=True)

    # --- Stripe's side: the account's id, then its state mirrored (see the module docstring) ------
    stripe_account_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    details_submitted = models.BooleanField(default=False)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    capabilities = models.JSONField(default=dict, blank=True, help_text="{capability name: status}")
    requirements = models.JSONField(default=empty_requirements, blank=True)
    current_deadline = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=100, blank=True, default="")
    charges_first_enabled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When Stripe first let the account take payments. Until then the seller is still onboarding, "
        "even when Stripe reports the information it needs as past due.",
    )
    stripe_state_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the mirrored snapshot was read from Stripe; older ones are ignored."
    )
    disconnected_at = models.DateTimeField(null=True, blank=True)

    # --- The platform's side ----------------------------------------------------------------------
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pause_reason = models.TextField(blank=True, default="")

    # --- Denormalised and bookkeeping ---------------------------------------------------------------
    status = models.CharField(max_length=32, choices=SellerStatus.choices, default=SellerStatus.ONBOARDING)
    onboarding_completed_at = models.DateTimeField(
        null=True, blank=True, help_text="First time the seller became active (the 'you can sell' email)."
    )
    reminder_sent_for_deadline = models.DateTimeField(
        null=True, blank=True, help_text="The current_deadline a reminder was last sent for (one per deadline)."
    )

    objects: ClassVar[SellerQuerySet] = SellerManager()  # type: ignore[assignment]
    _saved_shop_name: str | None = None  # the name as last read or written (see `save`)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["status"], name="seller_status_idx")]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["shop_name_key"], name="seller_shop_name_key_unique"),
        ]

    def __str__(self) -> str:
        return self.shop_name

    # The keys are written when the shop is created or renamed, not on every save: a shop that shared
    # its name (or its look) with an older one before the check existed keeps a null key (or fewer
    # looks), and saving it for anything else (its status, a pause) must not collide with the older
    # shop's. The looks are rows of their own (`ShopNameLook`), written in the same transaction.
    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        writes_name = update_fields is None or "shop_name" in update_fields
        renamed = writes_name and self._shop_name_changed()
        if renamed:
            self.shop_name_key = shop_name_key(self.shop_name)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "shop_name_key"}
            with transaction.atomic(using=kwargs.get("using")):
                super().save(*args, **kwargs)
                ShopNameLook.objects.filter(seller=self).delete()
                looks = sorted(shop_name_looks(self.shop_name))
                ShopNameLook.objects.bulk_create(ShopNameLook(seller=self, look=look) for look in looks)
        else:
            super().save(*args, **kwargs)
        if writes_name:
            self._saved_shop_name = self.__dict__.get("shop_name")

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Seller:
        seller = super().from_db(db, field_names, values)
        seller._saved_shop_name = seller.__dict__.get("shop_name")
        return seller

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        fields = kwargs.get("fields")
        if fields is None or "shop_name" in fields:
            self._saved_shop_name = self.__dict__.get("shop_name")

    def _shop_name_changed(self) -> bool:
        if "shop_name" not in self.__dict__:  # deferred: not loaded, so not changed
            return False
        return self._state.adding or self.shop_name != self._saved_shop_name

    def clean(self) -> None:
        """The admin's forms: a rename to another shop's name, or to one that looks like it, is a form
        error, not a database error."""
        super().clean()
        if self._shop_name_changed():
            others = Seller.objects.exclude(pk=self.pk)
            if others.filter(shop_name_key=shop_name_key(self.shop_name)).exists():
                raise ValidationError({"shop_name": SHOP_NAME_TAKEN})
            looks = ShopNameLook.objects.filter(look__in=shop_name_looks(self.shop_name))
            if looks.exclude(seller=self.pk).exists():
                raise ValidationError({"shop_name": SHOP_NAME_LOOKALIKE})

    @property
    def currently_due(self) -> list[str]:
        return list(self.requirements.get("currently_due") or [])

    @property
    def past_due(self) -> list[str]:
        return list(self.requirements.get("past_due") or [])

    @property
    def eventually_due(self) -> list[str]:
        return list(self.requirements.get("eventually_due") or [])

    @property
    def requirement_errors(self) -> list[dict[str, Any]]:
        return list(self.requirements.get("errors") or [])

    @property
    def due_count(self) -> int:
        """How many distinct things Stripe needs now (currently or past due)."""
        return len(set(self.currently_due) | set(self.past_due))


class ShopNameLook(models.Model):
    """One of a shop's looks (`shop_name_looks`): unique, so no two shops look alike, whichever way
    each is seen. Rows, not columns, because a look as written must meet another shop's look in
    capitals too; a column each would compare only like with like. Written by `Seller.save` when the
    shop is named or renamed; a shop that looked like an older one before the check existed holds
    only the looks no older shop holds (migration 0006)."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="name_looks")
    look = models.TextField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["look"], name="shop_name_look_unique"),
        ]

    def __str__(self) -> str:
        return self.look


class SellerModerationEntry(models.Model):
    """Who paused or unpaused a seller, when and why: the console's history, never edited."""

    class Action(models.TextChoices):
        PAUSE = "pause", "Paused"
        UNPAUSE = "unpause", "Unpaused"

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="moderation_entries")
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        verbose_name_plural = "seller moderation entries"

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.seller} ({self.created_at:%Y-%m-%d})"
