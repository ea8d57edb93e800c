"""The platform's application-fee rules.

A rule is `basis_points` (1 bp = 0.01 %) plus `fixed_amount` minor units, for one currency, and applies to
everyone (platform default), one seller, one category, or one seller in one category. The most specific
rule wins: seller+category > seller > category > platform default. Each rule is tied to a currency
because the fixed part is an amount of money (30 cents is not 30 yen); at most one rule exists per scope
and currency, enforced by partial unique indexes so that "the most specific rule" is always one row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from marketplace.rates import basis_points_text

MAX_BASIS_POINTS = 10_000


def percent_label(basis_points: int) -> str:
    """1000 -> "10 %", 290 -> "2.9 %", 5 -> "0.05 %" (for people)."""
    return basis_points_text(basis_points, space=" ")


class FeeRule(models.Model):
    currency = models.CharField(max_length=3, help_text="Lowercase ISO 4217.")
    seller = models.ForeignKey(
        "sellers.Seller", on_delete=models.CASCADE, null=True, blank=True, related_name="fee_rules"
    )
    category = models.ForeignKey(
        "catalog.Category", on_delete=models.CASCADE, null=True, blank=True, related_name="fee_rules"
    )
    basis_points = models.PositiveIntegerField(help_text="1 bp = 0.01 %; 1000 = 10 %.")
    fixed_amount = models.BigIntegerField(default=0, help_text="Minor units, charged once per payment.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("currency", "seller_id", "category_id")
        constraints = [
            models.CheckConstraint(
                condition=Q(basis_points__gte=0, basis_points__lte=MAX_BASIS_POINTS), name="fee_rule_bps_range"
            ),
            models.CheckConstraint(condition=Q(fixed_amount__gte=0), name="fee_rule_fixed_not_negative"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="fee_rule_currency_lowercase"),
            models.UniqueConstraint(
                fields=["currency"],
                condition=Q(seller__isnull=True, category__isnull=True),
                name="fee_rule_one_platform_default",
            ),
            models.UniqueConstraint(
                fields=["currency", "seller"],
                condition=Q(seller__isnull=False, category__isnull=True),
                name="fee_rule_one_per_seller",
            ),
            models.UniqueConstraint(
                fields=["currency", "category"],
                condition=Q(seller__isnull=True, category__isnull=False),
                name="fee_rule_one_per_category",
            ),
            models.UniqueConstraint(
                fields=["currency", "seller", "category"],
                condition=Q(seller__isnull=False, category__isnull=False),
                name="fee_rule_one_per_seller_category",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope_label}: {self.basis_points} bp + {self.fixed_amount} {self.currency}"

    @property
    def specificity(self) -> int:
        """3 seller+category, 2 seller, 1 category, 0 platform default."""
        return (2 if self.seller_id else 0) + (1 if self.category_id else 0)

    @property
    def percent_label(self) -> str:
        return percent_label(self.basis_points)

    @property
    def scope_label(self) -> str:
        if self.seller_id and self.category_id:
            return "Seller in category"
        if self.seller_id:
            return "Seller"
        if self.category_id:
            return "Category"
        return "Platform default"
