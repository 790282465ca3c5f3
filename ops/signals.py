"""Celery signals that record beat's heartbeat and each finished reconciliation."""

from __future__ import annotations

from typing import Any

from celery.signals import before_task_publish, task_success

from .models import Beat
from .services import heartbeat_record

HEARTBEAT_TASK = "ops.tasks.heartbeat"
RECONCILE_TASK = "donations.tasks.reconcile_stripe"


def _published(sender: str | None = None, **kwargs: Any) -> None:
    # Only beat sends the heartbeat task: its publication is beat's proof of life.
    if sender == HEARTBEAT_TASK:
        heartbeat_record(name=Beat.BEAT)


def _succeeded(sender: Any = None, result: Any = None, **kwargs: Any) -> None:
    if getattr(sender, "name", None) == RECONCILE_TASK:
        heartbeat_record(name=Beat.RECONCILIATION, detail=str(result)[:300])


def connect() -> None:
    before_task_publish.connect(_published, dispatch_uid="ops.beat_heartbeat", weak=False)
    task_success.connect(_succeeded, dispatch_uid="ops.reconciliation", weak=False)
