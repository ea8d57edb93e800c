"""How many units each line refund put back on stock, so a failed refund's units are not put back twice.

Before this, a restocked line refund put back all its units: that is what `put_back` holds for them."""

from django.db import migrations, models
from django.db.models import F


def units_put_back(apps, schema_editor):
    OrderLineRefund = apps.get_model("orders", "OrderLineRefund")
    OrderLineRefund.objects.filter(restocked=True).update(put_back=F("quantity"))


class Migration(migrations.Migration):
    dependencies = [("orders", "0008_order_payment_method_id")]

    operations = [
        migrations.AddField(
            model_name="orderlinerefund", name="put_back", field=models.PositiveIntegerField(default=0)
        ),
        migrations.RunPython(units_put_back, migrations.RunPython.noop),
    ]
