"""The ledger once booked a dispute's withdrawn amount as a *Dispute loss* at once; it now holds it on
*Funds held for open disputes* until the dispute is decided (`marketplace.ledger.flows`). Entries
are immutable, so the postings made before are corrected by new ones, dated as the withdrawal:

- a dispute won meanwhile needs nothing (its reinstatement took the amount back off the losses);
- any other withdrawal is moved from the losses to the held funds (`dispute_funds_held`);
- a dispute already lost then posts its `dispute_lost`, as the code does today, which moves the
  amount back to the losses and tells a later sync of the dispute that its loss is posted.

Each posting is looked for before it is made, so the migration can run again without effect.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

HELD = "disputed_funds"
LOSSES = "dispute_losses"


def hold_withdrawn_dispute_funds(apps: Any, schema_editor: Any) -> None:
    account_model = apps.get_model("ledger", "Account")
    txn_model = apps.get_model("ledger", "LedgerTransaction")
    leg_model = apps.get_model("ledger", "LedgerLeg")
    dispute_model = apps.get_model("payments", "Dispute")
    withdrawals = list(txn_model.objects.filter(kind="dispute_funds_withdrawn").order_by("pk"))
    if not withdrawals:
        return
    losses = account_model.objects.filter(code=LOSSES, stripe_account="").first()
    if losses is None:
        return
    held, _ = account_model.objects.get_or_create(
        code=HELD, stripe_account="", defaults={"name": "Funds held for open disputes", "kind": "asset"}
    )
    won = set(txn_model.objects.filter(kind="dispute_funds_reinstated").values_list("source_id", flat=True))
    lost = set(dispute_model.objects.filter(status="lost").values_list("stripe_id", flat=True))
    done = set(
        txn_model.objects.filter(kind__in=("dispute_funds_held", "dispute_lost")).values_list("source_id", "kind")
    )

    def post(source_id: str, kind: str, text: str, when: Any, legs: list[tuple[Any, int, str]]) -> None:
        if (source_id, kind) in done:
            return
        txn = txn_model.objects.create(source_id=source_id, kind=kind, description=text, occurred_at=when)
        leg_model.objects.bulk_create(
            [
                leg_model(transaction=txn, account=account, amount=amount, currency=currency, occurred_at=when)
                for account, amount, currency in legs
            ]
        )
        done.add((source_id, kind))

    for withdrawal in withdrawals:
        dispute_id = withdrawal.source_id
        if dispute_id in won:
            continue
        for leg in leg_model.objects.filter(transaction=withdrawal, account=losses):
            amount, currency, when = leg.amount, leg.currency, withdrawal.occurred_at
            post(
                dispute_id,
                "dispute_funds_held",
                f"Dispute {dispute_id}: the withdrawn amount is held until the dispute is decided, not lost",
                when,
                [(held, amount, currency), (losses, -amount, currency)],
            )
            if dispute_id in lost:
                post(
                    dispute_id,
                    "dispute_lost",
                    f"Dispute {dispute_id} lost",
                    when,
                    [(losses, amount, currency), (held, -amount, currency)],
                )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0007_refund_token"),
        ("ledger", "0007_legs_trigger_checks_amount_and_currency"),
    ]

    operations = [migrations.RunPython(hold_withdrawn_dispute_funds, migrations.RunPython.noop)]
