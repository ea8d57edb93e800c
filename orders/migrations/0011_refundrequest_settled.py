"""Refund requests settled by refunds made another way (`RefundRequestStatus.SETTLED`).

Requests left open before this although refunds made since they were asked cover them (or leave
nothing of the order) are settled now, as a refund recorded from now on settles them
(`orders.services.refunds._request_settle`), so they leave the sellers' open requests and the admins'
overdue list. No email: the buyer was told of each of those refunds when it was made."""

from django.db import migrations, models
from django.db.models import Sum
from django.utils import timezone

from marketplace.money import format_money

MADE = ("pending", "succeeded")


def settle_covered(apps, schema_editor):
    RefundRequest = apps.get_model("orders", "RefundRequest")
    Refund = apps.get_model("payments", "Refund")
    for request in RefundRequest.objects.filter(status="open").select_related("order"):
        made = Refund.objects.filter(order_id=request.order_id, status__in=MADE)
        since = list(made.filter(created_at__gt=request.created_at).exclude(requests__status="approved").order_by("pk"))
        total = sum(r.amount for r in since)
        whole = (made.aggregate(total=Sum("amount"))["total"] or 0) >= request.order.amount_total
        if not since or (total < request.amount and not whole):
            continue
        last = since[-1]
        one = last if last.amount >= request.amount or len(since) == 1 else None
        what, amount = ("refund", last.amount) if one else ("refunds", total)
        RefundRequest.objects.filter(pk=request.pk, status="open").update(
            status="settled",
            refund=one,
            decided_by_id=last.created_by_id,
            decided_at=timezone.now(),
            decision_note=f"Settled by the {what} of {format_money(amount, request.order.currency)} "
            "made after the request.",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_stripecustomer_card_changes"),
        ("payments", "0011_refund_one_per_payment_token"),
    ]

    operations = [
        migrations.AlterField(
            model_name="refundrequest",
            name="status",
            field=models.CharField(
                choices=[
                    ("open", "Waiting for the seller"),
                    ("approved", "Approved"),
                    ("declined", "Declined"),
                    ("settled", "Refunded"),
                ],
                default="open",
                max_length=20,
            ),
        ),
        migrations.RunPython(settle_covered, migrations.RunPython.noop),
    ]
