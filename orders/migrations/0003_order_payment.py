"""The Stripe columns of orders move to `payments.Payment` and `payouts.Transfer` / `ApplicationFee`.

Each order that was paid (it has a charge) gets a payment, and its transfer and application fee
their mirror rows, from the values the order held; then the columns go. Ledger postings are not
made here: Stripe's processing fee was never stored, and posts need it (they come from webhooks
and services, and `seed_demo` makes its orders through that path).
"""

import django.db.models.deletion
from django.db import migrations, models

PAID_OR_REFUNDED = ("paid", "fulfilled", "completed", "refunded")


def forwards(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Payment = apps.get_model("payments", "Payment")
    Transfer = apps.get_model("payouts", "Transfer")
    ApplicationFee = apps.get_model("payouts", "ApplicationFee")
    orders = Order.objects.exclude(charge_id="").select_related("seller").order_by("pk")
    for order in orders.iterator():
        amount = order.amount_received or order.amount_total
        when = order.paid_at or order.created_at
        payment, _ = Payment.objects.get_or_create(
            stripe_charge_id=order.charge_id,
            defaults={
                "stripe_payment_intent_id": order.payment_intent_id or order.charge_id,
                "status": "refunded" if order.amount_refunded >= amount else "succeeded",
                "currency": order.currency,
                "amount": amount,
                "amount_refunded": min(order.amount_refunded, amount),
                "created_at": when,
            },
        )
        order.payment = payment
        order.save(update_fields=["payment"])
        destination = order.seller.stripe_account_id or ""
        if order.transfer_id and destination:
            Transfer.objects.get_or_create(
                stripe_id=order.transfer_id,
                defaults={
                    "destination": destination,
                    "amount": amount,
                    "currency": order.currency,
                    "payment": payment,
                    "created_at": when,
                },
            )
        if order.application_fee_id and destination and order.application_fee_amount:
            ApplicationFee.objects.get_or_create(
                stripe_id=order.application_fee_id,
                defaults={
                    "account": destination,
                    "amount": order.application_fee_amount,
                    "currency": order.currency,
                    "payment": payment,
                    "created_at": when,
                },
            )


def backwards(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    for order in Order.objects.exclude(payment=None).select_related("payment").iterator():
        payment = order.payment
        order.charge_id = payment.stripe_charge_id
        order.payment_intent_id = payment.stripe_payment_intent_id
        order.amount_received = payment.amount
        order.amount_refunded = payment.amount_refunded
        order.transfer_id = getattr(payment.transfers.first(), "stripe_id", "")
        order.application_fee_id = getattr(payment.application_fees.first(), "stripe_id", "")
        order.save()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_payment_confirming_since"),
        ("payments", "0001_initial"),
        ("payouts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="payment",
            field=models.ForeignKey(
                blank=True,
                help_text="What the buyer paid (one payment may pay several orders).",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="payments.payment",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="order", name="amount_received"),
        migrations.RemoveField(model_name="order", name="amount_refunded"),
        migrations.RemoveField(model_name="order", name="application_fee_id"),
        migrations.RemoveField(model_name="order", name="charge_id"),
        migrations.RemoveField(model_name="order", name="payment_intent_id"),
        migrations.RemoveField(model_name="order", name="refund_id"),
        migrations.RemoveField(model_name="order", name="transfer_id"),
    ]
