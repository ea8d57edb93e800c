"""No two shops may look alike, seen as written, in capitals or in small letters
(`sellers.models.shop_name_looks`): each shop's looks are rows of `ShopNameLook`, unique, in place
of 0005's one key (the skeleton of the name then case folded: it let "KIT" in Cyrillic capitals
beside a shop "kit", and refused "ALI" beside "ALL"). As 0004 and 0005 did, shops that already look
alike keep their names: the oldest holds a look, a younger one is left without the looks older ones
hold and keeps its others, so no new shop can take a look and the existing ones can still be saved."""

import importlib
import unicodedata

import django.db.models.deletion
from django.db import migrations, models

from marketplace.text import skeleton

# 0004's reading of characters drawn as nothing or as a blank, as it was then.
_read_as = importlib.import_module("sellers.migrations.0004_shop_name_key")._read_as


def _looks(shop_name):  # type: ignore[no-untyped-def]
    """`sellers.models.shop_name_looks` as it was when this migration was written (the skeleton's
    data is the confusables file of `marketplace.text`, which a newer version changes with a migration)."""
    drawn = "".join(_read_as(c) for c in unicodedata.normalize("NFKC", shop_name))
    folded = drawn.casefold()
    return {" ".join(skeleton(text).split()) for text in (drawn, folded.upper(), folded)}


def fill_looks(apps, schema_editor):  # type: ignore[no-untyped-def]
    Seller = apps.get_model("sellers", "Seller")
    ShopNameLook = apps.get_model("sellers", "ShopNameLook")
    held = set(ShopNameLook.objects.values_list("look", flat=True))
    for pk, shop_name in Seller.objects.order_by("pk").values_list("pk", "shop_name"):
        looks = sorted(_looks(shop_name) - held)
        held.update(looks)
        ShopNameLook.objects.bulk_create(ShopNameLook(seller_id=pk, look=look) for look in looks)


class Migration(migrations.Migration):
    dependencies = [
        ("sellers", "0005_shop_name_skeleton"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="seller",
            name="seller_shop_name_skeleton_unique",
        ),
        migrations.RemoveField(
            model_name="seller",
            name="shop_name_skeleton",
        ),
        migrations.CreateModel(
            name="ShopNameLook",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("look", models.TextField()),
                (
                    "seller",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="name_looks", to="sellers.seller"
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("look",), name="shop_name_look_unique")],
            },
        ),
        migrations.RunPython(fill_looks, migrations.RunPython.noop),
    ]
