"""Heartbeats: recorded by the processes themselves, read by /healthz/deep and the admin."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .models import Beat, Heartbeat

logger = logging.getLogger(__name__)

# The backup timer runs daily: a backup is late when the last one is older than a day and a bit.
BACKUP_LATE_AFTER = timedelta(hours=26)


def heartbeat_record(*, name: Beat | str, detail: str = "") -> None:
    """Record that `name` ran just now. Never raises: a heartbeat must not break the process."""
    try:
        if not connection.in_atomic_block:
            close_old_connections()  # beat holds its connection for days: drop a dead one first
        Heartbeat.objects.update_or_create(
            name=str(name), defaults={"at": timezone.now(), "detail": detail[:300]}
        )
    except Exception:  # the database is down: the heartbeat goes stale, which is the alarm
        logger.exception("Could not record the %s heartbeat", name)


def late_after(name: Beat | str) -> timedelta:
    """How old a heartbeat may be before it counts as late."""
    if name in (Beat.WORKER, Beat.BEAT):
        return timedelta(seconds=3 * settings.HEARTBEAT_SECONDS)
    if name == Beat.RECONCILIATION:
        every = float(settings.CELERY_BEAT_SCHEDULE["reconcile-stripe"]["schedule"])
        return timedelta(seconds=3 * every)
    return BACKUP_LATE_AFTER


@dataclass(frozen=True)
class Status:
    name: str
    label: str
    at: datetime | None
    detail: str
    late: bool


def statuses(*, now: datetime | None = None) -> list[Status]:
    """Every background job, when it last ran and whether it is late (never ran counts as late)."""
    now = now or timezone.now()
    rows = {h.name: h for h in Heartbeat.objects.all()}
    result = []
    for beat in Beat:
        row = rows.get(beat.value)
        at = row.at if row else None
        late = at is None or now - at > late_after(beat)
        result.append(Status(beat.value, str(beat.label), at, row.detail if row else "", late))
    return result
