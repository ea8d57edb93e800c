"""`Order.version` goes: nothing ever bumped it (a changed cart makes a new order), and the Checkout
Session's idempotency key is the order id and the request's parameters without it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_order_payment"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="order",
            name="version",
        ),
    ]
