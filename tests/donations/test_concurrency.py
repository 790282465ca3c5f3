"""Real concurrency against PostgreSQL: the same payment reported many times at once counts once.

Each thread uses its own database connection through the Django test client, so the row locks and
the unique event id are exercised for real (SQLite serialises writers, so these run on PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from core.money import cad
from donations import selectors
from donations.models import DonationState, EventStatus, StripeEvent
from tests.support.payments import completed_event, refund_event, start_checkout
from tests.support.webhooks import post_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together by a barrier; each closes its connection."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait(timeout=10)
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_same_event_from_many_threads_is_stored_and_counted_once(campaign, stripe_fake):
    donation, session_id = start_checkout(Client(), campaign, amount="75")
    event = completed_event(stripe_fake, session_id)

    responses = all_at_once([lambda: post_event(Client(), event) for _ in range(THREADS)])

    assert [r.status_code for r in responses] == [200] * THREADS
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().status == EventStatus.PROCESSED
    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.raised, t.donation_count, t.donor_count) == (cad("75.00"), 1, 1)


def test_webhook_and_success_page_at_once_count_once(campaign, stripe_fake):
    donation, session_id = start_checkout(Client(), campaign, amount="40")
    session = stripe_fake.complete(session_id)
    completed = stripe_fake.event("checkout.session.completed", session)
    succeeded = stripe_fake.event("checkout.session.async_payment_succeeded", session)
    thanks = f"/donations/{donation.public_id}/thanks/?session_id={session_id}"
    calls: list[Callable[[], Any]] = []
    for _ in range(THREADS // 4):
        calls += [
            lambda: post_event(Client(), completed),
            lambda: post_event(Client(), succeeded),
            lambda: Client().get(thanks),
            lambda: Client().get(thanks),
        ]

    responses = all_at_once(calls)

    assert all(r.status_code == 200 for r in responses)
    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.gross, t.raised, t.donation_count, t.donor_count) == (
        cad("40.00"),
        cad("40.00"),
        1,
        1,
    )
    assert StripeEvent.objects.count() == 2


def test_many_donations_confirmed_at_once_all_count(campaign, stripe_fake):
    checkouts = [start_checkout(Client(), campaign, amount=str(10 + i)) for i in range(THREADS)]
    events = [completed_event(stripe_fake, session_id) for _, session_id in checkouts]

    def deliver(event: dict[str, Any]) -> Callable[[], Any]:
        return lambda: post_event(Client(), event)

    all_at_once([deliver(e) for e in events])

    t = selectors.campaign_totals(campaign=campaign)
    expected = sum(10 + i for i in range(THREADS))
    assert t.raised == cad(expected)
    assert t.donation_count == THREADS
    assert t.donor_count == 1  # every checkout used the same email


def test_refund_and_completion_racing_end_consistent(campaign, stripe_fake):
    donation, session_id = start_checkout(Client(), campaign, amount="60")
    completed = completed_event(stripe_fake, session_id)
    refunded = refund_event(stripe_fake, session_id, 2000)

    all_at_once([lambda: post_event(Client(), completed), lambda: post_event(Client(), refunded)])

    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.gross, t.refunded, t.raised) == (cad("60.00"), cad("20.00"), cad("40.00"))
