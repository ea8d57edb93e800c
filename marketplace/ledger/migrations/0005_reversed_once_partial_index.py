"""A transaction is still reversed at most once, checked by a partial unique index.

The OneToOneField's unique index held an entry for every posting, NULL for all but the few
corrections; the partial index holds only those. One index entry less per posting.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_legs_trigger_looks_up_by_key"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ledgertransaction",
            name="reverses",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reversed_by",
                to="ledger.ledgertransaction",
            ),
        ),
        migrations.AddConstraint(
            model_name="ledgertransaction",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reverses__isnull", False)),
                fields=("reverses",),
                name="ledger_transaction_reversed_once",
            ),
        ),
    ]
