"""Platform default fee rules, so a fresh install charges a sensible fee: 10 % + a small fixed amount.

Admins change them in the console (/console/fees/); this only creates the rows that are missing.
"""

from django.db import migrations

DEFAULTS = [
    # currency, basis points, fixed amount in minor units
    ("usd", 1000, 30),
    ("eur", 1000, 25),
    ("gbp", 1000, 20),
    ("cad", 1000, 30),
    ("aud", 1000, 30),
    ("jpy", 1000, 0),
]


def create_defaults(apps, schema_editor):
    FeeRule = apps.get_model("fees", "FeeRule")
    for currency, bps, fixed in DEFAULTS:
        if not FeeRule.objects.filter(currency=currency, seller__isnull=True, category__isnull=True).exists():
            FeeRule.objects.create(currency=currency, basis_points=bps, fixed_amount=fixed)


class Migration(migrations.Migration):
    dependencies = [("fees", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
