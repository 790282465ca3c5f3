"""Celery beat's periodic tasks (`celery -A config beat`, one process: no database scheduler).

Built from the intervals config/settings.py reads from the environment."""

from __future__ import annotations

from typing import Any


def beat_schedule(
    *, sweep_every: float, reconcile_every: float, heartbeat: float
) -> dict[str, dict[str, Any]]:
    return {
        "sweep-unprocessed-stripe-events": {
            "task": "donations.tasks.sweep_unprocessed_events",
            "schedule": sweep_every,
            "kwargs": {"older_than_seconds": int(sweep_every)},
        },
        "reconcile-stripe": {
            "task": "donations.tasks.reconcile_stripe",
            "schedule": reconcile_every,
        },
        "send-scheduled-updates": {"task": "campaign.tasks.updates_sweep", "schedule": 60.0},
        # Missed all-or-nothing deadlines, pledge charges whose task was lost, cards to detach.
        "sweep-pledges": {"task": "donations.tasks.pledges_sweep", "schedule": 60.0},
        # Receipts, refunds, surplus shares and fees whose enqueue failed (broker down then).
        "sweep-lost-work": {"task": "donations.tasks.sweep_lost_work", "schedule": 60.0},
        "heartbeat": {"task": "ops.tasks.heartbeat", "schedule": heartbeat},
    }
