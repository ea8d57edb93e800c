"""The outbox: follow-ups of committed changes (emails above all), written in the change's transaction.

Why a table and not `transaction.on_commit(task.delay)`: on_commit alone loses the message when
the broker is down at that moment, and with it the "order paid" emails, for good. A row written in
the same transaction as the change exists exactly when the change does; the broker only carries a
"deliver it now" nudge, and the sweeper delivers whatever no nudge reached.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # written, not delivered yet (or failed and waiting to retry)
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead"  # failed its last attempt: someone must look

    name = models.CharField(max_length=100, help_text="The registered follow-up that delivers it")
    args = models.JSONField(default=list, help_text="Its arguments: our own ids, or a rendered email")
    key = models.CharField(
        max_length=200, unique=True, null=True, blank=True, help_text="The same follow-up of the same change, once"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            # The sweeper only ever looks for pending rows that are due.
            models.Index(fields=["next_attempt_at"], name="outbox_pending_due", condition=models.Q(status="pending")),
            models.Index(fields=["status", "created_at"], name="outbox_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.args}"
