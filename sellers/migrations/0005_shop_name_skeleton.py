"""No two shops may look alike (`sellers.models.shop_name_skeleton`): a second key, Unicode's
confusables skeleton of the name, with a unique index. As 0004 did for names read alike, shops that
already look alike keep their names: the oldest holds the key, the others are left with none (nulls
do not collide), so no new shop can take the look and the existing ones can still be saved.
Replaced by 0006 (`sellers.models.shop_name_looks`), which drops this column."""

import importlib
import unicodedata

from django.db import migrations, models

from marketplace.text import skeleton

# 0004's reading of characters drawn as nothing or as a blank, as it was then.
_read_as = importlib.import_module("sellers.migrations.0004_shop_name_key")._read_as


def _skeleton_key(shop_name):  # type: ignore[no-untyped-def]
    """`sellers.models.shop_name_skeleton` as it was when this migration was written (the skeleton's
    data is the confusables file of `marketplace.text`, which a newer version changes with a migration)."""
    drawn = "".join(_read_as(c) for c in unicodedata.normalize("NFKC", shop_name))
    return " ".join(skeleton(drawn).casefold().split())


def fill_skeletons(apps, schema_editor):  # type: ignore[no-untyped-def]
    Seller = apps.get_model("sellers", "Seller")
    held = set(Seller.objects.exclude(shop_name_skeleton=None).values_list("shop_name_skeleton", flat=True))
    rows = Seller.objects.filter(shop_name_skeleton=None).order_by("pk").values_list("pk", "shop_name")
    for pk, shop_name in rows:
        key = _skeleton_key(shop_name)
        if key in held:
            continue
        held.add(key)
        Seller.objects.filter(pk=pk).update(shop_name_skeleton=key)


class Migration(migrations.Migration):
    dependencies = [
        ("sellers", "0004_shop_name_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="seller",
            name="shop_name_skeleton",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="`shop_name_skeleton(shop_name)`, unique: no two shops look alike. Null only for shops "
                "that looked like an older one before the check existed (migration 0005).",
                null=True,
            ),
        ),
        migrations.RunPython(fill_skeletons, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="seller",
            constraint=models.UniqueConstraint(fields=("shop_name_skeleton",), name="seller_shop_name_skeleton_unique"),
        ),
    ]
