"""The Celery app: `celery -A config worker` runs the tasks."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Taken from the broker before every other task: a gift counts, and shows on the page, however many
# receipts, fees or update emails were queued before it. Redis keeps one list per priority and
# workers read them 0 first (kombu's `priority_steps`).
FIRST_IN_LINE = frozenset({"donations.tasks.process_stripe_event"})
FIRST, AFTER = 0, 6


def task_route(name: str, *args: Any, **kwargs: Any) -> dict[str, int]:
    """CELERY_TASK_ROUTES: every task's priority (a route, since Celery 6 drops the task
    attribute; a default priority would be sent explicitly and override a route's)."""
    return {"priority": FIRST if name in FIRST_IN_LINE else AFTER}
