"""No two shops may read alike (`sellers.models.shop_name_key`): a column with the normalised name and
a unique index on it. Shops that already share a name keep it: the oldest holds the key, the others
are left with none (nulls do not collide), so no new shop can take the name and the existing ones
can still be saved."""

import re
import unicodedata

from django.db import migrations, models

# Drawn as nothing though not format characters: the combining grapheme joiner, Khmer's inherent
# vowels, Mongolian's variation selectors, the variation selectors; and letters or symbols drawn as a
# blank (the Hangul fillers, which NFKC leaves as U+1160 or U+115F, and the Braille blank).
_DRAWN_AS_NOTHING = re.compile("[\u034f\u17b4\u17b5\u180b-\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_DRAWN_AS_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _read_as(c):  # type: ignore[no-untyped-def]
    if c in _DRAWN_AS_BLANK:
        return " "
    if unicodedata.category(c) == "Cf" or _DRAWN_AS_NOTHING.match(c):
        return ""
    return c


def _key(shop_name):  # type: ignore[no-untyped-def]
    """`sellers.models.shop_name_key` as it was when this migration was written."""
    folded = unicodedata.normalize("NFKC", shop_name)
    folded = "".join(_read_as(c) for c in folded)
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
