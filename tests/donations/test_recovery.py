"""Missed webhooks and lost tasks: reconciliation with Stripe, the periodic sweep, a broker down."""

from __future__ import annotations

import importlib
import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from kombu import pools as kombu_pools

from config.celery import app as celery_app
from donations import selectors, tasks
from donations.models import Donation, DonationState, EventStatus, StripeEvent
from donations.services import recovery
from tests.support.payments import completed_event, deliver, refund_event, start_checkout

pytestmark = pytest.mark.django_db


def raised(campaign):
    return selectors.campaign_totals(campaign=campaign).raised.amount


# --- Missed webhooks: reconciliation ---------------------------------------------------------


def test_a_dropped_webhook_is_counted_after_reconciliation(client, campaign, stripe_fake):
    donation, session_id = start_checkout(client, campaign, amount="50")
    completed_event(stripe_fake, session_id)  # Stripe sent it; the site never received it

    assert raised(campaign) == 0
    out = io.StringIO()
    call_command("reconcile_stripe", stdout=out)

    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert raised(campaign) == 50
    assert "recovered 1" in out.getvalue()
    event = StripeEvent.objects.get()
    assert (event.status, event.headers) == (EventStatus.PROCESSED, {"Source": "reconciliation"})

    call_command("reconcile_stripe", stdout=io.StringIO())  # a second run changes nothing
    assert raised(campaign) == 50
    assert selectors.campaign_totals(campaign=campaign).donation_count == 1


def test_a_missed_refund_is_applied_by_reconciliation(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    _, session_id = start_checkout(client, campaign, amount="50")
    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)
    refund_event(stripe_fake, session_id, 2000)  # never delivered

    report = recovery.reconcile()

    assert report.events_recovered == 1
    assert raised(campaign) == 30


def test_a_paid_session_without_any_event_is_fulfilled(client, campaign, stripe_fake):
    donation, session_id = start_checkout(client, campaign, amount="20")
    stripe_fake.complete(session_id)  # paid, but Stripe's events are gone (older than 30 days)

    report = recovery.reconcile()

    donation.refresh_from_db()
    assert report.sessions_fulfilled == 1
    assert donation.state == DonationState.CONFIRMED and raised(campaign) == 20


def test_stale_pending_donations_expire_but_a_paid_one_is_fulfilled(client, campaign, stripe_fake):
    abandoned, _ = start_checkout(client, campaign, amount="10")
    paid_late, paid_session = start_checkout(client, campaign, amount="30")
    fresh_time = timezone.now()
    stripe_fake.complete(paid_session)
    stripe_fake.events.clear()  # nothing to recover from events: only the session says paid
    stripe_fake.sessions[paid_session]["created"] = 0  # outside the look-back window

    with time_machine.travel(fresh_time + timedelta(hours=26)):
        fresh, _ = start_checkout(client, campaign, amount="15")
        expired = recovery.donations_expire_stale()

    states = {d.pk: d.state for d in Donation.objects.all()}
    assert expired == 1
    assert states[abandoned.pk] == DonationState.EXPIRED
    assert states[paid_late.pk] == DonationState.CONFIRMED
    assert states[fresh.pk] == DonationState.PENDING
    assert raised(campaign) == 30


def test_reconcile_with_stripe_down_changes_nothing_and_says_so(client, campaign, stripe_fake):
    start_checkout(client, campaign)
    stripe_fake.fail_next(500, "api_error", times=5)

    with pytest.raises(Exception, match="Stripe could not be reached"):
        call_command("reconcile_stripe", stdout=io.StringIO())

    assert Donation.objects.get().state == DonationState.PENDING


def test_beat_schedule_runs_the_sweep_and_reconciliation():
    schedule = celery_app.conf.beat_schedule
    tasks_scheduled = {entry["task"] for entry in schedule.values()}
    assert tasks_scheduled >= {
        "donations.tasks.sweep_unprocessed_events",
        "donations.tasks.reconcile_stripe",
    }
    for name in tasks_scheduled:  # every scheduled task exists under that name
        importlib.import_module(name.rsplit(".", 1)[0])
    assert tasks_scheduled <= set(celery_app.tasks)
    assert schedule["sweep-unprocessed-stripe-events"]["schedule"] <= 60


# --- Stored but unprocessed ------------------------------------------------------------------


def test_broker_down_webhook_still_200_and_sweep_processes_it_later(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks, caplog
):
    donation, session_id = start_checkout(client, campaign, amount="25")
    event = completed_event(stripe_fake, session_id)
    with celery_broker_down():
        response = deliver(client, event, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert "Could not enqueue donations.tasks.process_stripe_event(" in caplog.text
    stored = StripeEvent.objects.get()
    assert stored.status == EventStatus.RECEIVED and raised(campaign) == 0

    assert tasks.sweep_unprocessed_events.apply(kwargs={"older_than_seconds": 0}).get() == 1

    stored.refresh_from_db()
    donation.refresh_from_db()
    assert stored.status == EventStatus.PROCESSED and stored.attempts == 1
    assert donation.state == DonationState.CONFIRMED and raised(campaign) == 25


def test_sweep_skips_recent_events_and_survives_a_broken_one(client, campaign, stripe_fake):
    donation, session_id = start_checkout(client, campaign, amount="25")
    broken = StripeEvent.objects.create(
        stripe_id="evt_broken", type="checkout.session.completed", payload={"data": None}
    )
    good = StripeEvent.objects.create(
        stripe_id="evt_good",
        type="checkout.session.completed",
        payload=completed_event(stripe_fake, session_id),
    )
    assert recovery.events_sweep(older_than_seconds=60) == 0  # too recent: its task may be running

    assert recovery.events_sweep(older_than_seconds=0) == 2

    broken.refresh_from_db()
    good.refresh_from_db()
    assert broken.status == EventStatus.FAILED and broken.attempts == 1 and broken.error
    assert good.status == EventStatus.PROCESSED and raised(campaign) == 25


class celery_broker_down:  # noqa: N801 - used like a function
    """Point Celery at a port nothing listens on, with publish retries off, for one block."""

    def __enter__(self) -> None:
        conf = celery_app.conf
        self.saved = (conf.task_always_eager, conf.broker_url, conf.task_publish_retry)
        conf.task_always_eager = False
        conf.task_publish_retry = False
        conf.broker_url = "redis://127.0.0.1:1/0"
        celery_app.pool.force_close_all()

    def __exit__(self, *exc: object) -> None:
        conf = celery_app.conf
        conf.task_always_eager, conf.broker_url, conf.task_publish_retry = self.saved
        celery_app.pool.force_close_all()
        # A closed pool stays closed, and eager tasks also take a producer from it (Celery 5.7):
        # drop the pools so the next use builds fresh ones for the restored broker.
        kombu_pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
