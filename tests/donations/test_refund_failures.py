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
