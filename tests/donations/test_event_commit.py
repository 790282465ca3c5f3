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


def test_a_counted_gift_costs_a_bounded_number_of_statements(
    client: Any, campaign: Any, stripe_fake: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Every counted gift pays this in a rush: the counters move by one UPDATE each (not a SELECT
    first), the donation is locked once, and the event's payload is not written back."""
    for n, amount in enumerate(("25", "25")):  # the same amount: its tally row exists
        _, session_id = start_checkout(client, campaign, amount=amount, email=f"m{n}@example.ca")
        stored = StripeEvent.objects.create(
            stripe_id=f"evt_count_{n}",
            type="checkout.session.completed",
            payload=completed_event(stripe_fake, session_id),
        )
        with CaptureQueriesContext(connection) as captured:
            event_process(event_id=stored.pk)

    statements = [q["sql"] for q in captured.captured_queries]
    donation_reads = [s for s in statements if s.startswith('SELECT "donations_donation"')]
    event_writes = [s for s in statements if s.startswith('UPDATE "donations_stripeevent"')]
    assert len(donation_reads) == 1
    assert len(event_writes) == 1 and '"payload"' not in event_writes[0]
    for table in ("campaigntotals", "dailyrollup", "amounttally"):
        touching = [s for s in statements if f'"donations_{table}"' in s.split(" WHERE")[0]]
        assert [s.split(" ")[0] for s in touching] == ["UPDATE"], (table, touching)
    # The second donor is new: one INSERT into the donor tally (in a savepoint), no get_or_create.
    tally = [s for s in statements if '"donations_donortally"' in s.split(" WHERE")[0]]
    assert [s.split(" ")[0] for s in tally] == ["SELECT", "INSERT"]
    assert len(statements) <= 20, statements
    assert campaign_totals(campaign=campaign).raised.amount == 50
    assert campaign_totals(campaign=campaign).donor_count == 2
