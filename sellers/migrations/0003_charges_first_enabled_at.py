from django.db import migrations, models
from django.db.models import Q
from django.db.models.functions import Coalesce, Now


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Sellers who can take payments now, or once became active, have been enabled at some point."""
    Seller = apps.get_model("sellers", "Seller")
    Seller.objects.filter(Q(charges_enabled=True) | Q(onboarding_completed_at__isnull=False)).update(
        charges_first_enabled_at=Coalesce("onboarding_completed_at", "stripe_state_updated_at", Now())
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sellers", "0002_express_onboarding"),
    ]

    operations = [
        migrations.AddField(
            model_name="seller",
            name="charges_first_enabled_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When Stripe first let the account take payments. Until then the seller is still "
                "onboarding, even when Stripe reports the information it needs as past due.",
                null=True,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
