"""Reconciliation reads everything since its last successful run (issue 13, 7): Stripe's event
list page after page with no cap, from a cursor saved only when a run completes, so an outage
longer than any look-back window, or a run cut short, still replays the oldest missed refund."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core.money import cad
from donations import gateway, selectors
from donations.models import StripeEvent
from donations.services import recovery
from tests.support.money_flows import charge_of, paid_gift

pytestmark = pytest.mark.django_db


@pytest.fixture
def gift(campaign, stripe_fake, django_capture_on_commit_callbacks):
    return paid_gift(
        Client(), campaign, stripe_fake, django_capture_on_commit_callbacks, "100", "r@x.ca"
    )


def missed_refund(fake, gift, created: int) -> dict:
    """A $30 dashboard refund whose charge.refunded never reached the site."""
    charge = fake.refund(charge_of(fake, gift)["id"], 3000)
    return fake.event("charge.refunded", charge, created=created)


def noise(fake, count: int, first_created: int) -> None:
    """Newer handled events that change nothing (refund updates of a refund that succeeded)."""
    for i in range(count):
        fake.event(
            "refund.updated",
            {"id": f"re_noise_{i}", "object": "refund", "status": "succeeded", "metadata": {}},
            created=first_created + i // 50,
        )


def event_pages(fake) -> list[dict]:
    return fake.requests_to("GET", "/v1/events")


def raised(campaign):
    return selectors.campaign_totals(campaign=campaign).raised


def test_a_long_outage_is_read_to_its_oldest_event_past_two_thousand(campaign, gift, stripe_fake):
    now = int(time.time())
    missed_refund(stripe_fake, gift, created=now - 5 * 3600)  # the oldest of the outage
    noise(stripe_fake, 2100, first_created=now - 4 * 3600)

    started = time.monotonic()
    report = recovery.reconcile()
    elapsed = time.monotonic() - started

    # Seen: the outage's 2,101 and the gift's own completion (delivered, so not recovered).
    assert report.events_seen == 2102 and report.events_recovered == 2101
    assert raised(campaign) == cad("70.00")  # the refund older than the newest 2,000 counts
    pages = event_pages(stripe_fake)
    assert len(pages) == 22  # ceil(2102 / 100): every page, Stripe's largest
    assert {p["params"]["limit"] for p in pages} == {"100"}
    assert all("starting_after" in p["params"] for p in pages[1:])
    from donations.models import ReconcileCursor

    cursor = ReconcileCursor.objects.get()
    assert cursor.event_created == max(e["created"] for e in stripe_fake.events)  # the newest
    print(f"reconciled 2,101 events in {elapsed:.1f} s")  # noqa: T201


def test_the_cursor_reaches_past_any_look_back_and_survives_a_run_cut_short(
    campaign, gift, stripe_fake
):
    real_now = timezone.now()
    stripe_fake.events.clear()  # the gift's completion was delivered; ten days ago it was not
    with time_machine.travel(real_now - timedelta(days=10), tick=False):
        recovery.reconcile()  # a successful run ten days ago, then the webhooks went down

    nine_days_ago = int((real_now - timedelta(days=9)).timestamp())
    refund = missed_refund(stripe_fake, gift, created=nine_days_ago)  # older than 72 hours
    noise(stripe_fake, 250, first_created=nine_days_ago + 60)

    stripe_fake.fail_list_after("/v1/events", pages=1)  # Stripe fails on the second page
    with pytest.raises(gateway.GatewayError):
        recovery.reconcile()
    assert raised(campaign) == cad("100.00")  # the refund, on the last page, is not read yet
    # The first page is stored (processed by the sweep if need be): nothing read is lost.
    assert StripeEvent.objects.filter(headers__Source="reconciliation").count() == 100

    report = recovery.reconcile()

    assert raised(campaign) == cad("70.00")  # nine days old, and counted
    assert report.events_seen == 251 and report.events_recovered == 151
    assert StripeEvent.objects.get(stripe_id=refund["id"]).status == "processed"

    from donations.models import ReconcileCursor

    moved = ReconcileCursor.objects.get()
    assert moved.event_created == nine_days_ago + 60 + 249 // 50  # the newest event read
    assert moved.event_id.startswith("evt_")

    stripe_fake.requests.clear()
    again = recovery.reconcile()  # the next run starts from the cursor, not ten days back
    assert again.events_recovered == 0 and again.events_seen <= 251
    [first_page] = event_pages(stripe_fake)[:1]
    assert first_page["params"]["created"]["gte"] == str(moved.event_created - 300)


def test_a_run_cut_short_leaves_the_cursor_where_it_was(campaign, gift, stripe_fake):
    from donations.models import ReconcileCursor

    stripe_fake.events.clear()
    recovery.reconcile()
    before = ReconcileCursor.objects.get()
    noise(stripe_fake, 150, first_created=before.event_created + 10)
    stripe_fake.fail_list_after("/v1/events", pages=1)

    with pytest.raises(gateway.GatewayError):
        recovery.reconcile()

    after = ReconcileCursor.objects.get()
    assert (after.event_created, after.completed_at) == (before.event_created, before.completed_at)
    recovery.reconcile()
    assert ReconcileCursor.objects.get().event_created == before.event_created + 10 + 149 // 50


def test_the_fake_refuses_a_page_larger_than_stripes(stripe_fake, settings):
    from donations.gateway import stripe as backend

    with pytest.raises(gateway.GatewayError, match="less than or equal to 100"):
        backend._call(backend.client().v1.events.list, {"limit": 101})
