"""A real Celery worker on the Redis broker processes a webhook end to end."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.test import Client

from config.celery import app as celery_app
from core.money import cad
from donations import selectors
from donations.models import DonationState, EventStatus, StripeEvent
from tests.support.payments import completed_event, start_checkout
from tests.support.webhooks import post_event

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker() -> Iterator[None]:
    assert celery_app.conf.task_always_eager is False
    celery_app.control.purge()  # nothing left over from an earlier run
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def wait_for(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")


def test_worker_processes_a_webhook_end_to_end(campaign, stripe_fake, worker):
    client = Client()
    donation, session_id = start_checkout(client, campaign, amount="120")
    event = completed_event(stripe_fake, session_id)

    response = post_event(client, event)

    assert response.status_code == 200
    assert response.json()["status"] == "received"  # answered before the work is done
    wait_for(lambda: StripeEvent.objects.get().status != EventStatus.RECEIVED)
    stored = StripeEvent.objects.get()
    assert stored.status == EventStatus.PROCESSED
    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.raised, t.donor_count) == (cad("120.00"), 1)
    # The receipt is a second task, sent by the worker too, once.
    wait_for(lambda: len(mail.outbox) == 1)
    assert "$120.00" in mail.outbox[0].subject

    again = post_event(client, event)

    assert again.json()["duplicate"] is True
    time.sleep(0.5)
    assert selectors.campaign_totals(campaign=campaign).raised == cad("120.00")
    assert len(mail.outbox) == 1
