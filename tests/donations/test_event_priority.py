"""Stripe's events are taken from the broker before every other task queued ahead of them
(config/settings.py: CELERY_TASK_DEFAULT_PRIORITY; donations/tasks.py: process_stripe_event): a
gift is counted, and shows on the page, however many receipts or update emails wait."""

from __future__ import annotations

import uuid

import pytest

from config.celery import app as celery_app
from donations.tasks import fetch_fee, process_stripe_event, send_receipt

pytestmark = pytest.mark.worker  # a real Redis broker (CI's second pass)


def test_an_event_queued_last_is_taken_first() -> None:
    queue = f"priority-test-{uuid.uuid4().hex[:8]}"
    for n in range(3):
        send_receipt.apply_async(args=[n], queue=queue)
        fetch_fee.apply_async(args=[n], queue=queue)
    process_stripe_event.apply_async(args=[99], queue=queue)

    with celery_app.connection_for_read() as connection:
        waiting = connection.SimpleQueue(queue)
        try:
            taken = []
            for _ in range(7):
                message = waiting.get(timeout=5)
                taken.append(message.headers["task"])
                message.ack()
        finally:
            waiting.clear()
            waiting.queue.delete()  # and its binding: nothing left in the broker
            waiting.close()

    assert taken[0] == "donations.tasks.process_stripe_event"
    assert (
        sorted(taken[1:])
        == ["donations.tasks.fetch_fee"] * 3 + ["donations.tasks.send_receipt"] * 3
    )
