"""Read-mostly Django admin for support staff; the console is where sellers are moderated (pausing
here would skip the reason and history), so the mirrored Stripe columns are read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from sellers.models import STRIPE_MIRROR_FIELDS, Seller, SellerModerationEntry
from sellers.services import shop_name_refusal


class ModerationInline(admin.TabularInline):
    model = SellerModerationEntry
    extra = 0
    can_delete = False
    readonly_fields = ("action", "reason", "actor", "created_at")


class SellerAdminForm(forms.ModelForm[Seller]):
    """A rename here is refused for what the seller's own form refuses (`shop_name_refusal`: a word
    mixing lookalike letters of two alphabets, a name that shows nothing, a direction control): the
    unique keys refused only another shop's name or look, so an admin could name a shop "Ceramics"
    spelt with a Cyrillic "a". A name stored before a check existed is left as it is until it changes."""

    class Meta:
        model = Seller
        fields = ("user", "shop_name", "country", "default_currency")  # the rest: read-only, see below

    def clean_shop_name(self) -> str:
        name = str(self.cleaned_data["shop_name"])
        if "shop_name" in self.changed_data and (refused := shop_name_refusal(name)):
            raise forms.ValidationError(refused[1])
        return name


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    form = SellerAdminForm
    list_display = ("shop_name", "user", "country", "default_currency", "status", "stripe_account_id", "created_at")
    list_filter = ("status", "country")
    search_fields = ("shop_name", "user__email", "stripe_account_id")
    readonly_fields = (
        "stripe_account_id",
        *STRIPE_MIRROR_FIELDS,
        "disconnected_at",
        "paused_at",
        "paused_by",
        "pause_reason",
        "status",
        "onboarding_completed_at",
        "reminder_sent_for_deadline",
    )
    inlines = (ModerationInline,)
