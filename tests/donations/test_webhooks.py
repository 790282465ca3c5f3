"""`POST /stripe/webhook/`: signatures, every handled event type, redelivery and ordering."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from core.money import cad
from donations import selectors
from donations.models import Donation, DonationState, EventStatus, StripeEvent
from testing.stripe_fake import sign
from tests.support.payments import completed_event, deliver, refund_event, start_checkout
from tests.support.webhooks import WEBHOOK_SECRET, post_event

pytestmark = pytest.mark.django_db


def totals(campaign):
    return selectors.campaign_totals(campaign=campaign)


# --- Signatures --------------------------------------------------------------------------


@pytest.fixture
def signed_event(client, campaign, stripe_fake):
    _, session_id = start_checkout(client, campaign)
    return completed_event(stripe_fake, session_id)


def test_missing_signature_is_400_and_nothing_stored(client, signed_event):
    response = client.post(
        "/stripe/webhook/", data=json.dumps(signed_event), content_type="application/json"
    )

    assert response.status_code == 400
    assert "Missing Stripe-Signature" in response.json()["error"]
    assert StripeEvent.objects.count() == 0


@pytest.mark.parametrize(
    "header",
    ["garbage", "t=,v1=", "v1=abc", "t=notanumber,v1=deadbeef", "t=1700000000"],
    ids=["garbage", "empty-parts", "no-timestamp", "bad-timestamp", "no-v1"],
)
def test_malformed_signature_is_400(client, signed_event, header):
    response = client.post(
        "/stripe/webhook/",
        data=json.dumps(signed_event),
        content_type="application/json",
        headers={"Stripe-Signature": header},
    )

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_wrong_secret_is_400_and_nothing_counted(client, campaign, signed_event):
    response = post_event(client, signed_event, secret="whsec_someone_else")

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    assert Donation.objects.get().state == DonationState.PENDING
    assert totals(campaign).raised == cad(0)


def test_stale_signature_is_400(client, signed_event):
    ten_minutes_ago = int(time.time()) - 600

    response = post_event(client, signed_event, timestamp=ten_minutes_ago)

    assert response.status_code == 400
    assert "tolerance" in response.json()["error"]
    assert StripeEvent.objects.count() == 0


def test_body_changed_after_signing_is_400(client, signed_event):
    payload = json.dumps(signed_event).encode()
    header = sign(payload, WEBHOOK_SECRET)
    tampered = payload.replace(b'"amount_total": 2500', b'"amount_total": 250000')
    assert tampered != payload

    response = client.post(
        "/stripe/webhook/",
        data=tampered,
        content_type="application/json",
        headers={"Stripe-Signature": header},
    )

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_a_rotated_secret_is_still_accepted(
    client, campaign, signed_event, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_new", WEBHOOK_SECRET]

    response = deliver(client, signed_event, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert totals(campaign).raised == cad("25.00")


def test_signed_payload_that_is_not_an_event_is_400(client):
    payload = json.dumps([1, 2, 3]).encode()
    response = client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)},
    )

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_get_is_refused(client):
    assert client.get("/stripe/webhook/").status_code == 405


# --- checkout.session.completed -----------------------------------------------------------


def test_paid_completion_confirms_and_moves_totals(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign, amount="50")
    event = completed_event(stripe_fake, session_id)

    response = deliver(client, event, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False, "status": "received"}
    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert donation.confirmed_at is not None
    assert donation.payment_intent_id == event["data"]["object"]["payment_intent"]
    stored = StripeEvent.objects.get()
    assert stored.stripe_id == event["id"]
    assert stored.type == "checkout.session.completed"
    assert stored.status == EventStatus.PROCESSED
    assert stored.donation == donation
    assert stored.attempts == 1
    assert stored.headers["Stripe-Signature"].startswith("t=")
    t = totals(campaign)
    assert t.raised == cad("50.00")
    assert t.gross == cad("50.00")
    assert t.donor_count == 1
    assert t.donation_count == 1
    assert t.remaining == cad("1450.00")
    assert t.hours_funded == Decimal("0.20")


def test_unpaid_completion_waits_in_processing(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign)
    event = completed_event(stripe_fake, session_id, payment_status="unpaid")

    deliver(client, event, django_capture_on_commit_callbacks)

    donation.refresh_from_db()
    assert donation.state == DonationState.PROCESSING
    assert totals(campaign).raised == cad(0)
    assert totals(campaign).donor_count == 0


def test_async_payment_succeeded_confirms_a_processing_donation(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign, amount="100")
    deliver(
        client,
        completed_event(stripe_fake, session_id, payment_status="unpaid"),
        django_capture_on_commit_callbacks,
    )
    session = stripe_fake.complete(session_id, payment_status="paid")

    deliver(
        client,
        stripe_fake.event("checkout.session.async_payment_succeeded", session),
        django_capture_on_commit_callbacks,
    )

    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert totals(campaign).raised == cad("100.00")


def test_async_payment_failed_counts_nothing(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign)
    session = stripe_fake.complete(session_id, payment_status="unpaid")
    deliver(
        client,
        stripe_fake.event("checkout.session.completed", session),
        django_capture_on_commit_callbacks,
    )

    deliver(
        client,
        stripe_fake.event("checkout.session.async_payment_failed", session),
        django_capture_on_commit_callbacks,
    )

    donation.refresh_from_db()
    assert donation.state == DonationState.FAILED
    assert totals(campaign).raised == cad(0)
    assert StripeEvent.objects.filter(status=EventStatus.PROCESSED).count() == 2


def test_expired_session_expires_a_pending_donation(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign)
    session = dict(stripe_fake.sessions[session_id], status="expired")

    deliver(
        client,
        stripe_fake.event("checkout.session.expired", session),
        django_capture_on_commit_callbacks,
    )

    donation.refresh_from_db()
    assert donation.state == DonationState.EXPIRED
    assert totals(campaign).raised == cad(0)


def test_expiry_never_uncounts_a_confirmed_donation(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign)
    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)
    session = dict(stripe_fake.sessions[session_id], status="expired")

    deliver(
        client,
        stripe_fake.event("checkout.session.expired", session),
        django_capture_on_commit_callbacks,
    )

    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert totals(campaign).raised == cad("25.00")


# --- charge.refunded -----------------------------------------------------------------------


def test_partial_then_full_refund_lowers_the_totals(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign, amount="100")
    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)

    deliver(client, refund_event(stripe_fake, session_id, 3050), django_capture_on_commit_callbacks)

    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert donation.amount_refunded == cad("30.50")
    assert donation.charge_id.startswith("ch_test_")
    t = totals(campaign)
    assert (t.gross, t.refunded, t.raised) == (cad("100.00"), cad("30.50"), cad("69.50"))
    assert t.donor_count == 1

    deliver(client, refund_event(stripe_fake, session_id), django_capture_on_commit_callbacks)

    donation.refresh_from_db()
    assert donation.state == DonationState.REFUNDED
    assert donation.amount_refunded == cad("100.00")
    t = totals(campaign)
    assert (t.refunded, t.raised) == (cad("100.00"), cad(0))
    assert t.donor_count == 0
    assert t.donation_count == 0


def test_an_older_refund_event_arriving_late_changes_nothing(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    _, session_id = start_checkout(client, campaign, amount="100")
    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)
    first = refund_event(stripe_fake, session_id, 1000)  # cumulative: $10 refunded
    second = refund_event(stripe_fake, session_id, 1000)  # cumulative: $20 refunded

    deliver(client, second, django_capture_on_commit_callbacks)
    deliver(client, first, django_capture_on_commit_callbacks)

    assert totals(campaign).refunded == cad("20.00")
    assert totals(campaign).raised == cad("80.00")


def test_refund_in_another_currency_is_stored_as_failed_and_not_applied(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    _, session_id = start_checkout(client, campaign)
    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)
    event = refund_event(stripe_fake, session_id)
    event["data"]["object"]["currency"] = "usd"

    response = deliver(client, event, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == EventStatus.FAILED
    assert "USD" in stored.error
    assert totals(campaign).raised == cad("25.00")


# --- Redelivery and ordering --------------------------------------------------------------


def test_redelivery_is_a_200_no_op_counted_once(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    _, session_id = start_checkout(client, campaign)
    event = completed_event(stripe_fake, session_id)
    deliver(client, event, django_capture_on_commit_callbacks)

    again = deliver(client, event, django_capture_on_commit_callbacks)
    third = deliver(client, event, django_capture_on_commit_callbacks)

    assert again.status_code == third.status_code == 200
    assert again.json() == {"received": True, "duplicate": True, "status": "processed"}
    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().attempts == 1
    t = totals(campaign)
    assert (t.raised, t.donation_count, t.donor_count) == (cad("25.00"), 1, 1)


def test_a_second_event_for_the_same_payment_counts_once(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    """Stripe may send completed then async_payment_succeeded for one session: one gift."""
    _, session_id = start_checkout(client, campaign)
    session = stripe_fake.complete(session_id)
    for kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        deliver(client, stripe_fake.event(kind, session), django_capture_on_commit_callbacks)

    assert StripeEvent.objects.filter(status=EventStatus.PROCESSED).count() == 2
    assert totals(campaign).raised == cad("25.00")
    assert totals(campaign).donation_count == 1


def test_refund_before_completion_ends_refunded_and_uncounted(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign, amount="40")
    completed = completed_event(stripe_fake, session_id)
    refunded = refund_event(stripe_fake, session_id)

    deliver(client, refunded, django_capture_on_commit_callbacks)
    donation.refresh_from_db()
    assert donation.state == DonationState.PENDING
    assert donation.amount_refunded == cad("40.00")
    assert totals(campaign).raised == cad(0)

    deliver(client, completed, django_capture_on_commit_callbacks)

    donation.refresh_from_db()
    assert donation.state == DonationState.REFUNDED
    t = totals(campaign)
    assert (t.gross, t.refunded, t.raised) == (cad("40.00"), cad("40.00"), cad(0))
    assert (t.donor_count, t.donation_count) == (0, 0)


def test_partial_refund_before_completion_counts_the_rest(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    _, session_id = start_checkout(client, campaign, amount="40")
    completed = completed_event(stripe_fake, session_id)
    refunded = refund_event(stripe_fake, session_id, 1500)

    deliver(client, refunded, django_capture_on_commit_callbacks)
    deliver(client, completed, django_capture_on_commit_callbacks)

    t = totals(campaign)
    assert (t.gross, t.refunded, t.raised) == (cad("40.00"), cad("15.00"), cad("25.00"))
    assert t.donor_count == 1


def test_event_for_an_unknown_donation_is_kept_failed_with_the_reason(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    event = stripe_fake.event(
        "checkout.session.completed",
        {
            "id": "cs_test_elsewhere",
            "object": "checkout.session",
            "amount_total": 2500,
            "currency": "cad",
            "client_reference_id": None,
            "payment_status": "paid",
            "metadata": {},
        },
    )

    response = deliver(client, event, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.status == EventStatus.FAILED
    assert "DonationNotFound" in stored.error
    # The failure in full, as dj-stripe keeps it: where it was raised, for the admin page.
    assert stored.traceback.startswith("Traceback (most recent call last):")
    assert "donation_locked" in stored.traceback
    assert "DonationNotFound: No donation for ref=''" in stored.traceback
    assert totals(campaign).raised == cad(0)


def test_unknown_event_types_are_stored_and_ignored(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    event = stripe_fake.event("customer.created", {"id": "cus_123", "object": "customer"})

    response = deliver(client, event, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.type == "customer.created"
    assert stored.status == EventStatus.IGNORED
    assert stored.payload == event
    assert stored.processed_at is not None


def test_amount_mismatch_is_flagged_and_not_counted(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign)
    event = completed_event(stripe_fake, session_id)
    event["data"]["object"]["amount_total"] = 100

    deliver(client, event, django_capture_on_commit_callbacks)

    donation.refresh_from_db()
    assert "does not match" in donation.flag
    assert StripeEvent.objects.get().status == EventStatus.FLAGGED
    assert totals(campaign).raised == cad(0)


def test_a_failed_event_is_retried_by_its_redelivery(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    """The donation row is not there yet the first time (e.g. a replica lag): Stripe retries."""
    donation, session_id = start_checkout(client, campaign)
    event = completed_event(stripe_fake, session_id)
    Donation.objects.filter(pk=donation.pk).update(checkout_session_id="")
    event_without_ref = json.loads(json.dumps(event))
    event_without_ref["data"]["object"]["client_reference_id"] = None
    deliver(client, event_without_ref, django_capture_on_commit_callbacks)
    assert StripeEvent.objects.get().status == EventStatus.FAILED

    Donation.objects.filter(pk=donation.pk).update(checkout_session_id=session_id)
    deliver(client, event_without_ref, django_capture_on_commit_callbacks)

    stored = StripeEvent.objects.get()
    assert stored.status == EventStatus.PROCESSED
    assert stored.attempts == 2
    assert totals(campaign).raised == cad("25.00")
