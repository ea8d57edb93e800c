"""`TransferReversal.for_dispute`: the lost dispute whose recovery made a reversal, so that a seller's
earnings per order count what each lost dispute took (`payouts.selectors.earnings_per_order`).

The reversals a destination charge's recovery made before are named by their dispute
(`Dispute.recovery_reversal_id`) and are filled in here. Those of a payment for several shops name
their dispute only in their metadata at Stripe, which a migration does not read: they stay unnamed,
and their orders' rows count only the debts the dispute left those sellers.
"""

from typing import Any

from django.db import migrations, models


def name_recovery_reversals(apps: Any, schema_editor: Any) -> None:
    dispute_model = apps.get_model("payments", "Dispute")
    reversal_model = apps.get_model("payouts", "TransferReversal")
    recovered = dispute_model.objects.exclude(recovery_reversal_id="").values_list("recovery_reversal_id", "stripe_id")
    for reversal_id, dispute_id in recovered:
        reversal_model.objects.filter(stripe_id=reversal_id, for_dispute="").update(for_dispute=dispute_id)


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0006_mirror_ids_unique_without_like_index"),
        ("payments", "0008_disputed_funds_held"),
    ]

    operations = [
        migrations.AddField(
            model_name="transferreversal",
            name="for_dispute",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The lost dispute (dp_...) whose recovery made it, if one did.",
                max_length=255,
            ),
        ),
        migrations.RunPython(name_recovery_reversals, migrations.RunPython.noop),
    ]
