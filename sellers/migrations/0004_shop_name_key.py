"""No two shops may read alike (`sellers.models.shop_name_key`): a column with the normalised name and
a unique index on it. Shops that already share a name keep it: the oldest holds the key, the others
are left with none (nulls do not collide), so no new shop can take the name and the existing ones
can still be saved."""

import unicodedata

from django.db import migrations, models


def _key(shop_name):  # type: ignore[no-untyped-def]
    """`sellers.models.shop_name_key` as it was when this migration was written."""
    folded = unicodedata.normalize("NFKC", shop_name)
    folded = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFKC", folded.casefold())
    return " ".join(folded.split())


def fill_keys(apps, schema_editor):  # type: ignore[no-untyped-def]
    Seller = apps.get_model("sellers", "Seller")
    held = set(Seller.objects.exclude(shop_name_key=None).values_list("shop_name_key", flat=True))
    for pk, shop_name in Seller.objects.filter(shop_name_key=None).order_by("pk").values_list("pk", "shop_name"):
        key = _key(shop_name)
        if key in held:
            continue
        held.add(key)
        Seller.objects.filter(pk=pk).update(shop_name_key=key)


class Migration(migrations.Migration):
    dependencies = [
        ("sellers", "0003_charges_first_enabled_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="seller",
            name="shop_name_key",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="`shop_name_key(shop_name)`, unique: no two shops read alike. Null only for shops that "
                "shared a name with an older one before the check existed (migration 0004).",
                null=True,
            ),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="seller",
            constraint=models.UniqueConstraint(fields=("shop_name_key",), name="seller_shop_name_key_unique"),
        ),
    ]
