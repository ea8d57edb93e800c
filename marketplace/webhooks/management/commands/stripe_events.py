"""`manage.py stripe_events replay|sweep|catch-up`: the event log's operations from a shell.

manage.py stripe_events replay --id evt_123 [--id evt_456]
manage.py stripe_events replay --type account.updated [--since 2026-11-01]
manage.py stripe_events replay --failed          # every dead or failing event
manage.py stripe_events sweep [--older-than 0]   # re-enqueue stuck events now
manage.py stripe_events catch-up [--days 30]     # store events Stripe has and we lack
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.defaultfilters import pluralize
from django.utils.dateparse import parse_datetime

from marketplace.webhooks import services
from marketplace.webhooks.models import WebhookEvent


class Command(BaseCommand):
    help = "Replay, sweep or catch up Stripe webhook events."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        replay = sub.add_parser("replay", help="process events again")
        replay.add_argument("--id", action="append", default=[], dest="ids", help="an event id (repeatable)")
        replay.add_argument("--type", dest="event_type", help="every event of this type")
        replay.add_argument("--failed", action="store_true", help="every dead or failing event")
        replay.add_argument("--since", help="only events received since this ISO date-time")
        sweep = sub.add_parser("sweep", help="re-enqueue events stuck unprocessed")
        sweep.add_argument("--older-than", type=int, default=None, help="seconds (default: the setting)")
        catch_up = sub.add_parser("catch-up", help="store events listed by Stripe that we never received")
        catch_up.add_argument("--days", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "sweep":
            older = options["older_than"]
            count = services.webhook_events_sweep(older_than=None if older is None else timedelta(seconds=older))
            self.stdout.write(f"{count} events re-enqueued")
        elif action == "catch-up":
            count = services.webhook_events_catch_up(days=options["days"])
            self.stdout.write(f"{count} missing events stored")
        else:
            self._replay(options)

    def _replay(self, options: dict[str, Any]) -> None:
        ids, event_type, failed = options["ids"], options["event_type"], options["failed"]
        if not (ids or event_type or failed):
            raise CommandError("say which events: --id, --type or --failed")
        events = WebhookEvent.objects.all()
        if ids:
            missing = set(ids) - set(events.filter(pk__in=ids).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"no such events: {', '.join(sorted(missing))}")
            events = events.filter(pk__in=ids)
        if event_type:
            events = events.filter(type=event_type)
        if failed:
            events = events.filter(status__in=[WebhookEvent.Status.DEAD, WebhookEvent.Status.FAILED])
        if options["since"]:
            since = parse_datetime(options["since"])
            if since is None:
                raise CommandError("--since is not an ISO date-time")
            events = events.filter(received_at__gte=since)
        count = 0
        for event in events.order_by("received_at").iterator():
            replayed = services.webhook_event_replay(event=event)
            self.stdout.write(f"replayed {replayed.pk} ({replayed.type}): {replayed.status}")
            count += 1
        self.stdout.write(f"{count} event{pluralize(count)} replayed")
