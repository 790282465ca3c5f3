"""A refund Stripe accepted can still fail days later (the card account closed): the money stays
with the campaign, so the totals count it again, the refund is marked failed, and it can be asked
again. Stripe says so with `charge.refund.updated` (and `refund.updated` / `refund.failed` on newer
API versions), a refund object with `status: failed`."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import cad
from donations import selectors, services
from donations.models import DonationState, EventStatus, Refund, RefundStatus, StripeEvent
from tests.support.money_flows import charge_of, paid_gift
from tests.support.payments import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def gift(campaign, stripe_fake, django_capture_on_commit_callbacks):
    return paid_gift(
        Client(), campaign, stripe_fake, django_capture_on_commit_callbacks, "100", "b@example.ca"
    )


def _refund(gift, stripe_fake, capture, amount: str) -> Refund:
    with capture(execute=True):
        refund = services.refund_request(donation=gift, amount=cad(amount), reason="asked")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUBMITTED
    return refund


@pytest.mark.parametrize("event_type", ["charge.refund.updated", "refund.failed", "refund.updated"])
def test_a_failed_refund_counts_the_money_again(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks, event_type
):
    capture = django_capture_on_commit_callbacks
    refund = _refund(gift, stripe_fake, capture, "100")
    confirmed = stripe_fake.event("charge.refunded", charge_of(stripe_fake, gift))
    deliver(Client(), confirmed, capture)
    gift.refresh_from_db()
    assert gift.state == DonationState.REFUNDED
    assert selectors.campaign_totals(campaign=campaign).raised == cad("0.00")

    failed = stripe_fake.event(event_type, stripe_fake.refund_fail(refund.stripe_refund_id))
    deliver(Client(), failed, capture)
    deliver(Client(), failed, capture)  # redelivered: nothing more

    gift.refresh_from_db()
    refund.refresh_from_db()
    assert gift.state == DonationState.CONFIRMED
    assert gift.amount_refunded == cad("0.00")
    assert refund.status == RefundStatus.FAILED and "expired_or_canceled_card" in refund.error
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.refunded, t.raised, t.donation_count, t.donor_count) == (
        cad("0.00"), cad("100.00"), 1, 1,
    )  # fmt: skip
    assert services.refund_available(donation=gift) == cad("100.00")  # can be asked again
    assert StripeEvent.objects.get(stripe_id=failed["id"]).status == EventStatus.PROCESSED


def test_a_late_snapshot_of_the_refund_does_not_count_it_again(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first = _refund(gift, stripe_fake, capture, "30")
    # Stripe's charge.refunded snapshot, taken before the failure, is delivered after it.
    stale = stripe_fake.event("charge.refunded", charge_of(stripe_fake, gift))
    failed = stripe_fake.event(
        "charge.refund.updated", stripe_fake.refund_fail(first.stripe_refund_id)
    )
    deliver(Client(), failed, capture)
    deliver(Client(), stale, capture)

    gift.refresh_from_db()
    assert gift.amount_refunded == cad("0.00")
    assert selectors.campaign_totals(campaign=campaign).raised == cad("100.00")

    # A second refund that goes through counts normally.
    _refund(gift, stripe_fake, capture, "40")
    deliver(Client(), stripe_fake.event("charge.refunded", charge_of(stripe_fake, gift)), capture)
    gift.refresh_from_db()
    assert gift.amount_refunded == cad("40.00")
    assert selectors.campaign_totals(campaign=campaign).raised == cad("60.00")


def test_a_refund_update_that_is_not_a_failure_changes_nothing(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    refund = _refund(gift, stripe_fake, capture, "100")
    deliver(Client(), stripe_fake.event("charge.refunded", charge_of(stripe_fake, gift)), capture)
    succeeded = dict(stripe_fake.refunds[refund.stripe_refund_id])

    deliver(Client(), stripe_fake.event("refund.updated", succeeded), capture)

    gift.refresh_from_db()
    assert gift.amount_refunded == cad("100.00")
    assert selectors.campaign_totals(campaign=campaign).raised == cad("0.00")


# --- Issue 13, 2 and 7: a dashboard refund that fails, events in either order; `canceled` ------


def _dashboard_refund(stripe_fake, gift, cents: int) -> dict:
    """A refund made in Stripe's dashboard: Stripe has a refund object, the site has no row."""
    status, refund = stripe_fake._refund_create(
        {"payment_intent": gift.payment_intent_id, "amount": str(cents)}
    )
    assert status == 200
    return refund


@pytest.mark.parametrize("order", ["failure_first", "snapshot_first"])
def test_a_failed_dashboard_refund_is_not_counted_whatever_the_order(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks, order
):
    capture = django_capture_on_commit_callbacks
    refund = _dashboard_refund(stripe_fake, gift, 3000)
    # A copy: the fake's charge object itself changes when the refund fails.
    snapshot = stripe_fake.event("charge.refunded", dict(charge_of(stripe_fake, gift)))  # $30
    failed = stripe_fake.event("refund.failed", stripe_fake.refund_fail(refund["id"]))
    first, second = (failed, snapshot) if order == "failure_first" else (snapshot, failed)

    deliver(Client(), first, capture)
    deliver(Client(), second, capture)

    gift.refresh_from_db()
    assert snapshot["data"]["object"]["amount_refunded"] == 3000  # the snapshot said $30
    assert stripe_fake.charges[gift.charge_id]["amount_refunded"] == 0  # Stripe: $0 refunded
    assert (gift.amount_refunded, gift.state) == (cad("0.00"), DonationState.CONFIRMED)
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.refunded, t.raised, t.donation_count) == (cad("0.00"), cad("100.00"), 1)
    assert set(StripeEvent.objects.filter(type__startswith="charge.refunded").values_list(
        "status", flat=True
    )) == {EventStatus.PROCESSED}  # fmt: skip


def test_a_snapshot_behind_stripe_is_corrected_upwards_too(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    _dashboard_refund(stripe_fake, gift, 2000)
    older = stripe_fake.event("charge.refunded", dict(charge_of(stripe_fake, gift)))  # $20
    _dashboard_refund(stripe_fake, gift, 3000)  # its own event is lost

    deliver(Client(), older, capture)

    gift.refresh_from_db()
    assert gift.amount_refunded == cad("50.00")  # Stripe's figure now, not the snapshot's
    assert selectors.campaign_totals(campaign=campaign).raised == cad("50.00")


def test_a_canceled_refund_counts_the_money_again(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    refund = _refund(gift, stripe_fake, capture, "40")
    deliver(Client(), stripe_fake.event("charge.refunded", charge_of(stripe_fake, gift)), capture)
    assert selectors.campaign_totals(campaign=campaign).raised == cad("60.00")

    # Stripe cancels the refund (a refund needing action that never got it): the money stays.
    with stripe_fake.lock:
        stored = stripe_fake.refunds[refund.stripe_refund_id]
        stored["status"] = "canceled"
        charge = stripe_fake.charges[stored["charge"]]
        charge["amount_refunded"] -= stored["amount"]
    deliver(Client(), stripe_fake.event("refund.updated", dict(stored)), capture)

    gift.refresh_from_db()
    refund.refresh_from_db()
    assert gift.amount_refunded == cad("0.00")
    assert selectors.campaign_totals(campaign=campaign).raised == cad("100.00")
    assert refund.status == RefundStatus.CANCELED
    assert services.refund_available(donation=gift) == cad("100.00")
