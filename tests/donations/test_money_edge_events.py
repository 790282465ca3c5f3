"""Issue 13, 7: an expired setup-mode session is applied (it concerns a pledge, not a donation);
a second payment for a donation already paid is refunded and put to the organizer, never
absorbed; a fee Stripe does not report yet is asked for on a doubling delay, then left to the
organizer."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core.money import cad
from donations import selectors
from donations.models import (
    Donation,
    EventStatus,
    Pledge,
    PledgeState,
    RefundStatus,
    StripeEvent,
)
from donations.services import fees, recovery
from tests.support.factories import StageFactory
from tests.support.money_flows import paid_gift
from tests.support.payments import completed_event, deliver, start_checkout

pytestmark = pytest.mark.django_db


def test_an_expired_setup_session_is_applied_not_failed(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    stage = StageFactory.create(campaign=campaign)
    response = client.post(
        f"/campaigns/{campaign.slug}/stages/{stage.pk}/pledge/",
        {"amount": "50", "email": "luc@example.ca", "display_name": "Luc"},
    )
    assert response.status_code == 303
    session_id = response["Location"].rsplit("/", 1)[1]
    with stripe_fake.lock:
        stripe_fake.sessions[session_id]["status"] = "expired"  # the member never saved a card
        session = dict(stripe_fake.sessions[session_id])

    event = stripe_fake.event("checkout.session.expired", session)
    deliver(Client(), event, django_capture_on_commit_callbacks)

    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert (stored.status, stored.error) == (EventStatus.PROCESSED, "")
    pledge = Pledge.objects.get(checkout_session_id=session_id)
    assert pledge.state == PledgeState.SETUP  # it never promised anything
    assert selectors.campaign_totals(campaign=campaign).gross == cad("0.00")


def test_a_second_payment_for_a_paid_donation_is_refunded_and_put_to_the_organizer(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    gift = paid_gift(client, campaign, stripe_fake, capture, "25", "e@example.ca")
    # The member paid a second Checkout Session for the same donation (another tab, a retry).
    ref = str(gift.public_id)
    status, second = stripe_fake._session_create({
        "mode": "payment", "client_reference_id": ref, "metadata": {"donation": ref},
        "payment_intent_data": {"metadata": {"donation": ref}},
        "line_items": [{"quantity": "1", "price_data": {"currency": "cad", "unit_amount": "2500",
                                                        "product_data": {"name": "x"}}}],
    })  # fmt: skip
    assert status == 200
    event = completed_event(stripe_fake, second["id"])
    deliver(client, event, capture)

    gift.refresh_from_db()
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == EventStatus.FLAGGED and "Second payment" in stored.error
    assert "Second payment" in gift.attention and gift.flag == ""  # the first still counts
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.gross, t.raised, t.donation_count) == (cad("25.00"), cad("25.00"), 1)
    [refund] = gift.refunds.all()
    second_pi = stripe_fake.sessions[second["id"]]["payment_intent"]
    assert (refund.amount, refund.payment_intent_id) == (cad("25.00"), second_pi)
    assert refund.status == RefundStatus.SUBMITTED
    second_charge = stripe_fake.charge_for_session(second["id"])
    assert second_charge["amount_refunded"] == 2500  # given back at Stripe
    assert stripe_fake.charge_for_session(gift.checkout_session_id)["amount_refunded"] == 0

    deliver(client, stripe_fake.event("charge.refunded", dict(second_charge)), capture)
    gift.refresh_from_db()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.CONFIRMED
    assert gift.amount_refunded == cad("0.00")  # the first payment is untouched
    assert selectors.campaign_totals(campaign=campaign).raised == cad("25.00")
    deliver(client, event, capture)  # redelivered: no second refund
    assert gift.refunds.count() == 1


def test_an_unknown_fee_is_asked_for_on_a_doubling_delay_then_left_to_the_organizer(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign, amount="25", email="")
    session = stripe_fake.complete(session_id)
    with stripe_fake.lock:
        stripe_fake.balance_transactions.clear()  # Stripe has no balance transaction yet
    deliver(
        client,
        stripe_fake.event("checkout.session.completed", session),
        django_capture_on_commit_callbacks,
    )
    donation.refresh_from_db()
    assert donation.is_counted and donation.fee == cad("0.00")

    def fee_requests() -> int:
        return sum(1 for r in stripe_fake.requests if r["path"].startswith("/v1/payment_intents/"))

    start = timezone.now()
    assert fee_requests() == 1
    # The sweep runs every minute for three days.
    for minute in range(1, 3 * 24 * 60, 1):
        if minute % 10:  # every 10th minute is enough to show the schedule, and quicker
            continue
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            recovery.work_sweep()
    donation.refresh_from_db()
    assert fee_requests() == 12  # not one every minute for three days
    assert fees.FEE_MAX_ATTEMPTS == 12
    assert donation.fee_attempts == fees.FEE_MAX_ATTEMPTS
    assert "still unknown" in donation.attention and donation.flag == ""
    assert donation.fee_retry_at is None
    assert selectors.campaign_totals(campaign=campaign).raised == cad("25.00")  # still counted


def test_the_fee_delay_doubles_and_is_capped():
    delays = [fees.fee_retry_delay(attempts=n).total_seconds() for n in range(1, 13)]
    assert delays[:4] == [60, 120, 240, 480]
    assert max(delays) == fees.FEE_RETRY_MAX_SECONDS == 6 * 3600
    assert sum(delays) < 2 * 24 * 3600


def test_a_fee_found_later_stops_the_asking(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign, amount="25", email="")
    session = stripe_fake.complete(session_id)
    with stripe_fake.lock:
        saved = dict(stripe_fake.balance_transactions)
        stripe_fake.balance_transactions.clear()
    deliver(
        client,
        stripe_fake.event("checkout.session.completed", session),
        django_capture_on_commit_callbacks,
    )
    with stripe_fake.lock:
        stripe_fake.balance_transactions.update(saved)  # Stripe has it now
    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=False):
        assert recovery.work_sweep()["fees"] == 1
    donation.refresh_from_db()
    assert donation.fee == cad("1.03") and donation.fee_attempts == 1
    with time_machine.travel(timezone.now() + timedelta(hours=3), tick=False):
        assert recovery.work_sweep()["fees"] == 0
    assert Donation.objects.get(pk=donation.pk).attention == ""


def test_the_admin_lists_donations_with_something_for_the_organizer(
    admin_client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    gift = paid_gift(Client(), campaign, stripe_fake, django_capture_on_commit_callbacks, "25", "")
    Donation.objects.filter(pk=gift.pk).update(attention="Dispute dp_1: status 'mulled'")
    other = paid_gift(Client(), campaign, stripe_fake, django_capture_on_commit_callbacks, "30", "")

    page = admin_client.get("/admin/donations/donation/?attention=yes").content.decode()
    assert "Dispute dp_1: status" in page
    assert f"/admin/donations/donation/{other.pk}/change/" not in page
    detail = admin_client.get(f"/admin/donations/donation/{gift.pk}/change/")
    assert detail.status_code == 200 and "Withdrawn for the dispute" in detail.content.decode()
