from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0008_transfer_reversal_kept_for_refund"),
    ]

    operations = [
        migrations.AddField(
            model_name="transferreversal",
            name="fee_kept_for_refund",
            field=models.BigIntegerField(
                default=0,
                help_text="Of the fee share booked with such a reversal, what the dispute did not count.",
            ),
        ),
    ]
