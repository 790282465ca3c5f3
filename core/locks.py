"""Periodic work that runs once across hosts, however many beats send it.

The recipe runs beat as one service, but a second beat (started by hand, or by a host restored from
an old image) would send every periodic task twice. Each periodic task is wrapped by
`once_per_beat_tick`: a message from beat first claims the task's row in `PeriodicClaim` with a
conditional UPDATE, which PostgreSQL serialises on the row, so of two beats' messages for the same
tick exactly one runs and the other is counted as skipped. The claim lasts a little less than the
task's period in `CELERY_BEAT_SCHEDULE`, so whatever the beats' phases, the task runs about once
per period.

A call that does not come from beat (a test, `celery call`, a management command) always runs: the
work itself stays safe to repeat (row locks and unique rows), the claim only keeps beats from
doubling it.
"""

from __future__ import annotations

import functools
import logging
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import current_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.models import PeriodicClaim

logger = logging.getLogger(__name__)

# The claim covers this share of the period: two beats' ticks for the same period fall inside it,
# and the next period's tick falls after it even when beat fires a little early.
CLAIM_SHARE = 0.8
# Beat sets this header on every message it sends (celery.beat.Scheduler.apply_async).
BEAT_HEADER = "celery_beat_task"


def beat_period_seconds(task_name: str) -> float | None:
    """The period of the beat entry that runs `task_name`, or None when beat does not run it."""
    for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values():
        schedule = entry.get("schedule")
        if entry.get("task") == task_name and isinstance(schedule, int | float):
            return float(schedule)
    return None


def claim(name: str, *, seconds: float) -> bool:
    """Take the periodic task `name` for `seconds`; False when another run holds it."""
    now = timezone.now()
    try:
        with transaction.atomic():
            PeriodicClaim.objects.get_or_create(name=name, defaults={"claimed_until": now})
    except IntegrityError:  # another host made the row at the same moment: it exists now
        pass
    won = PeriodicClaim.objects.filter(name=name, claimed_until__lte=now).update(
        claimed_until=now + timedelta(seconds=seconds),
        host=socket.gethostname()[:255],
        runs=F("runs") + 1,
    )
    if not won:
        PeriodicClaim.objects.filter(name=name).update(skipped=F("skipped") + 1)
    return bool(won)


def _sent_by_beat() -> bool:
    task = current_task
    if task is None or task.request.called_directly:
        return False
    request = task.request
    headers = getattr(request, "headers", None) or {}
    return bool(getattr(request, BEAT_HEADER, None) or headers.get(BEAT_HEADER))


def once_per_beat_tick[R](func: Callable[..., R]) -> Callable[..., R | None]:
    """Run the periodic task once per tick across hosts; a duplicate beat message returns None."""
    name = f"{func.__module__}.{func.__name__}"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> R | None:
        period = beat_period_seconds(name)
        if period and _sent_by_beat() and not claim(name, seconds=period * CLAIM_SHARE):
            logger.info("Periodic task %s skipped: already run for this tick", name)
            return None
        logger.info("Periodic task %s runs on %s", name, socket.gethostname())
        return func(*args, **kwargs)

    return wrapper
