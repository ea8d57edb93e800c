"""Fill the worker benchmark's queue, in a Django process (`bench_webhooks.py` runs it while no worker runs).

Takes the plan as JSON: a list of blocks `[kind, count, label]`, queued in that order, so the worker
takes them in that order too (Redis queues are FIFO):

- `bare`: `count` bare one-row tasks (`bench_handlers.one_row`), ids `index * 1_000_000 + i`
  where `index` is the block's position among the bare blocks;
- `plain`: `count` `customer.created` events stored through the intake's own service
  (`webhook_event_store`), each enqueued as the intake does (through the relay, which gathers
  the ids stored within its linger into worker messages of up to `WEBHOOK_TASK_BATCH`, and is
  flushed at the end of the block); one row per event (no ledger);
- `money`: the same with `--money`'s mix (two thirds transfer and application fee events: a
  mirror row and a ledger posting each);
- `unposted`: the same events as `money`, under the types whose handlers leave the ledger out
  (`bench_handlers.UNPOSTED`): postings off.

Event ids start with `evt_<label>_`, so the benchmark can time each block from `processed_at`.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

BARE_ID_STRIDE = 1_000_000


def main() -> None:
    plan = json.loads(sys.argv[1])
    import django

    django.setup()
    from django.db import connection

    from benchmarks import bench_webhooks
    from benchmarks.bench_handlers import BARE_TASK_TABLE, UNPOSTED, one_row
    from marketplace import gateway
    from marketplace.webhooks import broker, services
    from marketplace.webhooks.relay import relay

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {BARE_TASK_TABLE} "
            "(id bigint PRIMARY KEY, done_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
    bare_blocks = 0
    for kind, count, label in plan:
        if kind == "bare":
            start = bare_blocks * BARE_ID_STRIDE
            broker.publish(one_row, [(start + i,) for i in range(count)])
            bare_blocks += 1
            continue
        bench_webhooks.MONEY_MIX = kind in ("money", "unposted")
        for i in range(count):
            event_type, obj = bench_webhooks.bench_object(i, label)
            if kind == "unposted":
                event_type = UNPOSTED.get(event_type, event_type)
            body = json.dumps(
                {
                    "id": f"evt_{label}_{uuid.uuid4().hex[:22]}",
                    "object": "event",
                    "api_version": gateway.api_version(),
                    "created": int(time.time()),
                    "data": {"object": obj},
                    "livemode": False,
                    "pending_webhooks": 1,
                    "request": {"id": None, "idempotency_key": None},
                    "type": event_type,
                },
                indent=2,
            ).encode()
            services.webhook_event_store(payload=json.loads(body), source="platform", body=body, batched=True)
        relay.flush()  # the block's last ids, before the next block's messages


if __name__ == "__main__":
    main()
