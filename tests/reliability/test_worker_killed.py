"""A Celery worker process killed in the middle of processing an event: the event is redelivered
(acks_late, reject on worker lost) and applied exactly once."""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal

import psycopg
import pytest
import redis

from core import jobs
from core.money import cad
from donations import selectors
from donations.models import Channel, Donation, DonationState, EventStatus, StripeEvent
from tests.support.factories import CampaignFactory
from tests.support.live import Worker, database_url, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _pg_waiting_on_lock(conninfo: str) -> bool:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        ).fetchone()
        return bool(row and row[0])


def test_worker_killed_mid_task_is_redelivered_and_counted_once():
    broker = os.environ["CELERY_BROKER_URL"]
    redis.Redis.from_url(broker).delete("celery", "unacked", "unacked_index")
    campaign = CampaignFactory.create(slug="killed")
    donation = Donation.objects.create(
        campaign=campaign, amount=cad(Decimal("60.00")), channel=Channel.STRIPE,
        checkout_session_id="cs_killed", email="k@example.org",
    )  # fmt: skip
    payload = {
        "id": "evt_killed", "type": "checkout.session.completed", "object": "event",
        "data": {"object": {
            "id": "cs_killed", "object": "checkout.session", "amount_total": 6000,
            "currency": "cad", "client_reference_id": str(donation.public_id),
            "payment_status": "paid", "payment_intent": "pi_killed", "status": "complete",
        }},
    }  # fmt: skip
    conninfo = database_url().replace("postgres://", "postgresql://")
    event = StripeEvent.objects.create(
        stripe_id="evt_killed", type="checkout.session.completed", payload=payload
    )

    # Hold the event's row lock so the worker's task blocks mid-way, inside its transaction.
    with psycopg.connect(conninfo) as blocker:
        blocker.execute("SELECT id FROM donations_stripeevent WHERE id = %s FOR UPDATE", [event.pk])
        worker = Worker(broker=broker, concurrency=1)
        try:
            # What the webhook does on commit, to the real broker.
            assert jobs.send("donations.tasks.process_stripe_event", event.pk)
            wait_until(lambda: _pg_waiting_on_lock(conninfo), timeout=30, what="task to block")
            [child] = worker.children()
            os.kill(child, signal.SIGKILL)  # the pool process dies mid-task
            time.sleep(1)
            blocker.rollback()  # let the redelivered task through
            wait_until(
                lambda: StripeEvent.objects.get(pk=event.pk).status == EventStatus.PROCESSED,
                timeout=30, what="the redelivered task",
            )  # fmt: skip
        finally:
            worker.stop()

    event.refresh_from_db()
    donation.refresh_from_db()
    assert event.attempts == 1  # the killed attempt rolled back with its process
    assert donation.state == DonationState.CONFIRMED
    totals = selectors.campaign_totals(campaign=campaign)
    assert (totals.raised.amount, totals.donation_count) == (Decimal("60.00"), 1)
