"""Applying a stored Stripe event commits without waiting for the disk (PostgreSQL), and an
application lost that way is applied again: the event row, stored durably on receipt, is what
counts (donations/services/stripe_events.py)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from donations.models import DonationState, EventStatus, StripeEvent
from donations.selectors import campaign_totals
from donations.services import recovery
from donations.services.stripe_events import event_process
from tests.support.payments import completed_event, start_checkout

ASYNC = "SET LOCAL synchronous_commit TO OFF"


def test_the_processing_transaction_does_not_wait_for_the_disk(
    client: Any, campaign: Any, stripe_fake: Any, on_postgres: bool
) -> None:
    donation, session_id = start_checkout(client, campaign, amount="25")
    stored = StripeEvent.objects.create(
        stripe_id="evt_async",
        type="checkout.session.completed",
        payload=completed_event(stripe_fake, session_id),
    )
    with CaptureQueriesContext(connection) as captured:
        event_process(event_id=stored.pk)

    statements = [q["sql"] for q in captured.captured_queries]
    # First thing in the transaction that locks the event and moves the totals; SQLite has no
    # such setting (and nothing to wait for).
    assert (ASYNC in statements) is on_postgres
    if on_postgres:
        assert statements.index(ASYNC) < next(
            i for i, sql in enumerate(statements) if "FOR UPDATE" in sql
        )
    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert campaign_totals(campaign=campaign).raised.amount == 25


def test_an_application_lost_in_a_crash_is_applied_by_the_sweep(
    client: Any, campaign: Any, stripe_fake: Any
) -> None:
    """What a database crash leaves when it loses the processing commit: the event `received`,
    nothing counted. The sweep applies it, once."""
    donation, session_id = start_checkout(client, campaign, amount="30")
    StripeEvent.objects.create(
        stripe_id="evt_lost",
        type="checkout.session.completed",
        payload=completed_event(stripe_fake, session_id),
    )
    assert campaign_totals(campaign=campaign).raised.amount == 0

    assert recovery.events_sweep(older_than_seconds=0) == 1
    assert recovery.events_sweep(older_than_seconds=0) == 0

    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert StripeEvent.objects.get().status == EventStatus.PROCESSED
    assert campaign_totals(campaign=campaign).raised.amount == 30
