"""Monthly gifts under real concurrency (PostgreSQL): the same paid invoice reported by 8 threads
counts once; two gifts crossing the goal together stop an "until covered" gift once."""

from __future__ import annotations

from functools import partial

import pytest
from django.test import Client

from core.money import cad
from donations import selectors
from donations.models import EventStatus, MonthlyStatus, StripeEvent
from tests.donations.test_concurrency import THREADS, all_at_once
from tests.support.factories import CampaignFactory
from tests.support.monthly import start_monthly, subscribed
from tests.support.payments import start_checkout
from tests.support.webhooks import post_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_paid_invoice_from_8_threads_counts_once(campaign, stripe_fake):
    gift, session_id = start_monthly(Client(), campaign, amount="20")
    session = stripe_fake.complete_subscription(session_id)
    invoice = stripe_fake.invoice_object(session["invoice"])
    # Eight deliveries of one payment: invoice.paid and invoice.payment_succeeded, each with
    # its own event id (so all eight reach the handler), plus the Checkout completion.
    events = [
        stripe_fake.event("invoice.paid" if i % 2 else "invoice.payment_succeeded", invoice)
        for i in range(THREADS - 1)
    ] + [stripe_fake.event("checkout.session.completed", session)]

    responses = all_at_once([partial(post_event, Client(), e) for e in events])

    assert [r.status_code for r in responses] == [200] * THREADS
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.raised, t.donation_count, t.donor_count) == (cad("20.00"), 1, 1)
    assert gift.donations.count() == 1
    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.ACTIVE


def test_two_gifts_crossing_the_goal_at_once_cancel_the_subscription_once(stripe_fake):
    campaign = CampaignFactory.create(slug="race-goal", community_goal=cad("100.00"))
    gift, session_id = start_monthly(Client(), campaign, amount="10", until_covered="on")
    post_event(Client(), subscribed(stripe_fake, session_id))
    completions = []
    for amount in ("60", "60"):
        _, one_off = start_checkout(Client(), campaign, amount=amount)
        completions.append(
            stripe_fake.event("checkout.session.completed", stripe_fake.complete(one_off))
        )

    all_at_once([partial(post_event, Client(), e) for e in completions * (THREADS // 2)])

    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.ENDING
    updates = stripe_fake.subscription_updates(gift.subscription_id)
    assert updates == [{"cancel_at_period_end": "true"}]
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.raised, t.donation_count) == (cad("130.00"), 3)
