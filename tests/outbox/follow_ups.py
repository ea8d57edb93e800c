"""Follow-ups used by the outbox tests. Their effect is an email in Django's test outbox, sent to
the address they are given: counting emails counts the effects."""

from __future__ import annotations

import threading

from django.core.mail import send_mail

from marketplace.outbox.services import follow_up

SEND = "tests.outbox.send"
ALWAYS_FAIL = "tests.outbox.always_fail"
HOLD = "tests.outbox.hold"

# HOLD: set when the follow-up runs, and waited for before it returns (so a test can act while
# the first deliverer holds the row's lock).
held = threading.Event()
release = threading.Event()


@follow_up(SEND)
def send(to: str) -> None:
    send_mail("Outbox test", "Sent by the outbox.", None, [to])


@follow_up(ALWAYS_FAIL)
def always_fail(to: str) -> None:
    raise OSError(f"the mail server refused {to}")


@follow_up(HOLD)
def hold(to: str) -> None:
    held.set()
    if not release.wait(20):
        raise TimeoutError("never released")
    send_mail("Outbox test", "Sent once.", None, [to])
