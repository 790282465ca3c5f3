"""charge.dispute.created / closed: the donation is disputed, won or lost, and the totals follow."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import cad
from donations import selectors
from donations.models import DisputeState, EventStatus, StripeEvent
from tests.support.money_flows import charge_of, paid_gift
from tests.support.payments import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def gift(campaign, stripe_fake, django_capture_on_commit_callbacks):
    return paid_gift(
        Client(), campaign, stripe_fake, django_capture_on_commit_callbacks, "80", "d@example.ca"
    )


def send(fake, capture, kind, gift, status="needs_response"):
    dispute = fake.dispute(charge_of(fake, gift)["id"], status=status)
    event = fake.event(f"charge.dispute.{kind}", dispute)
    deliver(Client(), event, capture)
    return event


def raised_and_disputed(campaign):
    t = selectors.campaign_totals(campaign=campaign)
    return t.raised, t.disputed


@pytest.mark.parametrize(
    ("outcome", "state", "raised", "disputed"),
    [
        ("won", DisputeState.WON, cad("80.00"), cad("0.00")),
        ("lost", DisputeState.LOST, cad("0.00"), cad("80.00")),
    ],
)
def test_dispute_opened_then_closed(
    campaign,
    gift,
    stripe_fake,
    django_capture_on_commit_callbacks,
    outcome,
    state,
    raised,
    disputed,
):
    capture = django_capture_on_commit_callbacks
    opened = send(stripe_fake, capture, "created", gift)

    gift.refresh_from_db()
    assert gift.dispute_state == DisputeState.OPEN
    assert raised_and_disputed(campaign) == (cad("0.00"), cad("80.00"))

    deliver(Client(), opened, capture)  # redelivery changes nothing
    send(stripe_fake, capture, "closed", gift, status=outcome)

    gift.refresh_from_db()
    assert gift.dispute_state == state
    assert raised_and_disputed(campaign) == (raised, disputed)
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}


def test_a_close_arriving_before_the_open_keeps_the_outcome(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    send(stripe_fake, capture, "closed", gift, status="lost")
    send(stripe_fake, capture, "created", gift)

    gift.refresh_from_db()
    assert gift.dispute_state == DisputeState.LOST
    assert raised_and_disputed(campaign) == (cad("0.00"), cad("80.00"))


def test_a_dispute_after_a_partial_refund_holds_only_what_is_left(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    charge = stripe_fake.refund(charge_of(stripe_fake, gift)["id"], 2000)
    deliver(Client(), stripe_fake.event("charge.refunded", charge), capture)
    send(stripe_fake, capture, "created", gift)

    t = selectors.campaign_totals(campaign=campaign)
    assert (t.gross, t.refunded, t.disputed, t.raised) == (
        cad("80.00"), cad("20.00"), cad("60.00"), cad("0.00"),
    )  # fmt: skip


def test_a_dispute_for_an_unknown_charge_is_kept_failed(
    stripe_fake, campaign, django_capture_on_commit_callbacks
):
    dispute = {"id": "dp_x", "object": "dispute", "charge": "ch_nope", "payment_intent": "pi_nope",
               "status": "needs_response", "amount": 100, "currency": "cad"}  # fmt: skip
    deliver(
        Client(),
        stripe_fake.event("charge.dispute.created", dispute),
        django_capture_on_commit_callbacks,
    )
    stored = StripeEvent.objects.get()
    assert stored.status == EventStatus.FAILED and "No donation for dispute" in stored.error
