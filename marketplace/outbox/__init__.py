"""The outbox: emails and other follow-ups of a committed change, never lost to a broker outage.

Usage (`marketplace.outbox.services`): a follow-up is a function registered under a name, in
`<app>/follow_ups.py` (imported at start-up by `OutboxConfig.ready()`); the service that makes the
change writes it, inside its own transaction::

    @follow_up("orders.email.order_confirmation")
    def order_confirmation(order_id: int) -> None:
        emails.send_order_confirmation(Order.objects.get(pk=order_id))

    with transaction.atomic():
        order.status = OrderStatus.PAID
        order.save()
        outbox_add("orders.email.order_confirmation", order.pk, key=f"order-confirmation:{order.pk}")

The row commits with the change or not at all. After the commit a `deliver` task is sent (a
refusal is logged, never raised: the page never depends on the broker), and the beat sweeper
delivers every row no task reached. Delivery locks the row (`SKIP LOCKED`), runs the function and
marks the row delivered in one transaction, so two deliverers never both send; a failing
follow-up is retried with backoff, then marked dead.

Contract of a follow-up: it takes JSON arguments (ids, not models), may run more than once only if
the process dies between its effect and the commit of the mark (an email is then sent twice; it is
never lost), and one row does one thing: two emails are two rows, so a failure of the second never
re-sends the first.
"""
