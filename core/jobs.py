"""Background work: asked for by task name once the transaction commits, never failing the caller.

Services never import tasks (tasks import services, like views do); they name the task instead.
Every job is either idempotent work whose pending state a periodic sweep finds again (an unsent
receipt, a requested refund, a stored event: see `donations.services.recovery`) or documented as
best-effort where it is enqueued. So a broker outage is logged here and the request that asked for
the work answers normally: the donation is saved, the sweep does the rest when the broker returns.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Task, current_app
from django.db import transaction

logger = logging.getLogger(__name__)
_loading = threading.Lock()


def _registered(task: str) -> Task:
    """The task by name. A web process never imports the tasks modules itself (services name
    tasks, they do not import them), so the first lookup loads what `autodiscover_tasks` found."""
    app = current_app
    if task not in app.tasks:
        # One thread loads them; the others (gthread workers) wait rather than see a half-filled
        # registry.
        with _loading:
            if task not in app.tasks:
                app.loader.import_default_modules()
    return app.tasks[task]


def send(task: str, *args: Any, countdown: float | None = None) -> bool:
    """Queue `task` (its registered dotted name) now; False, logged, when the broker is down.

    With no broker configured (development, the SQLite test run) the task runs in-process.
    """
    try:
        _registered(task).apply_async(args=args, countdown=countdown)
    except Exception:  # any broker error: the work's stored state lets a sweep pick it up
        call = f"{task}({', '.join(map(repr, args))})"
        logger.exception("Could not enqueue %s; a sweep will pick the work up", call)
        return False
    return True


def enqueue(task: str, *args: Any, countdown: float | None = None) -> None:
    """Queue `task` after the current transaction commits (at once outside one).

    `robust`: nothing queued after a commit may undo or hide what was committed.
    """
    transaction.on_commit(lambda: send(task, *args, countdown=countdown), robust=True)


class RetryingTask(Task):  # type: ignore[misc]
    """A task retried on a back-off schedule, acknowledged only once it finished.

    Subclass attributes: `backoff`, the countdowns in seconds of successive retries (the last is
    repeated); `max_retries` defaults to its length. Eager runs (no broker) never retry: the
    caller's state stays pending and the sweeps are the backstop, as for a lost task.
    """

    abstract = True
    acks_late = True
    backoff: tuple[int, ...] = (2, 5, 15, 60, 300, 900, 3600)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "max_retries" not in cls.__dict__:
            cls.max_retries = len(cls.backoff)

    def retry_later(self, error: BaseException | None = None) -> None:
        """Raise celery's `Retry` for the next back-off step; return at once when eager."""
        if self.request.is_eager:
            return
        countdown = self.backoff[min(self.request.retries, len(self.backoff) - 1)]
        raise self.retry(exc=error, countdown=countdown)

    @property
    def out_of_retries(self) -> bool:
        return bool(self.request.is_eager or self.request.retries >= self.max_retries)
