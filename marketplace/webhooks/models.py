"""The inbox: every Stripe event we accepted, unique on its id, with what became of it.

The row is the unit of "nothing lost, nothing done twice": intake inserts it before answering
2xx, the worker locks it, runs the handlers and marks it processed in one transaction, and the
sweeper finds rows that never got there (dj-stripe `WebhookEventTrigger`, Zulip's Stripe state).
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import models
from django.utils import timezone

from marketplace.gateway.types import StripeResource, parse_as

ObjectT = TypeVar("ObjectT", bound=StripeResource)


class WebhookEvent(models.Model):
    class Source(models.TextChoices):
        PLATFORM = "platform", "Platform"
        CONNECT = "connect", "Connect"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # stored, waiting for (or being run by) a worker
        FAILED = "failed", "Failed, will retry"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"  # no handler, other mode, unknown account: kept, not acted on
        DEAD = "dead", "Dead"  # failed its last attempt: an admin must look and replay
        # Rendered in another Stripe API version than ours: kept, not processed until an admin replays it
        HELD = "held", "Held: other API version"

    id = models.CharField(primary_key=True, max_length=255, help_text="Stripe's event id, evt_...")
    type = models.CharField(max_length=100)
    source = models.CharField(max_length=10, choices=Source.choices)
    account = models.CharField(max_length=255, blank=True, default="", help_text="Connected account, acct_...")
    livemode = models.BooleanField(default=False)
    created = models.BigIntegerField(help_text="Stripe's `created`: Unix seconds when Stripe made the event")
    api_version = models.CharField(max_length=64, blank=True, default="", help_text="The version Stripe rendered it in")
    payload = models.JSONField(help_text="The event exactly as Stripe sent it (parsed)")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    ignored_reason = models.CharField(max_length=200, blank=True, default="", help_text="Why it was ignored or held")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, help_text="Last status change or (re)enqueue")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-received_at",)
        indexes = [
            # Partial where they can be: every index is paid for on every intake insert, and the
            # sweeper only ever looks for unfinished rows, and only Connect events have an account.
            models.Index(
                fields=["status", "updated_at"],
                name="webhookevent_unfinished",
                condition=models.Q(status__in=["pending", "failed"]),
            ),
            models.Index(fields=["-received_at"], name="webhookevent_received"),
            models.Index(fields=["type", "-received_at"], name="webhookevent_type"),
            models.Index(
                fields=["account", "-received_at"], name="webhookevent_account", condition=~models.Q(account="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    @property
    def data_object(self) -> dict[str, Any]:
        """`data.object`: the Stripe object as it was when the event was made."""
        data = self.payload.get("data") or {}
        return dict(data.get("object") or {})

    def stripe_object(self, kind: builtins.type[ObjectT]) -> ObjectT:  # `type` is a field here
        """`data.object` read as the typed `kind` (`gateway.types`), the way handlers read it: the
        same types and the same parser as every gateway call, so a shape we cannot read fails the
        event loudly (and it is retried, then dead) instead of being half-read."""
        return parse_as(kind, self.data_object)

    @property
    def previous_attributes(self) -> dict[str, Any]:
        data = self.payload.get("data") or {}
        return dict(data.get("previous_attributes") or {})

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self.created, tz=UTC)

    @property
    def error_summary(self) -> str:
        """The exception line of `last_error` (its last line), for lists."""
        lines = [line for line in self.last_error.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""
