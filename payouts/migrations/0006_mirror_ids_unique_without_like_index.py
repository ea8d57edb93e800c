"""Transfers' and application fees' Stripe ids stay unique, without the LIKE index `unique=True` brings.

Postgres got two indexes per id: the unique one and a `varchar_pattern_ops` one for LIKE 'prefix%',
which no query uses (the admin's search has a leading wildcard). Every destination charge writes
one row of each, from the charge's path or its webhook, so each kept an index entry for nothing.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0005_seller_debt_per_dispute_and_seller"),
        ("payouts", "0005_bank_account"),
    ]

    operations = [
        migrations.AlterField(
            model_name="applicationfee",
            name="stripe_id",
            field=models.CharField(max_length=255),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="stripe_id",
            field=models.CharField(max_length=255),
        ),
        migrations.AddConstraint(
            model_name="applicationfee",
            constraint=models.UniqueConstraint(fields=("stripe_id",), name="application_fee_stripe_id_unique"),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.UniqueConstraint(fields=("stripe_id",), name="transfer_stripe_id_unique"),
        ),
    ]
