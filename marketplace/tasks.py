"""Task helpers shared by every app."""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import transaction


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Send `task` only once the current transaction commits (at once outside a transaction).

    A worker that receives an id before its row is committed would find nothing; a rolled-back
    transaction must not leave a task behind.
    """
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))
