"""charge.dispute.*: only what Stripe withdrew is held out of the totals (part of a gift for a
partial dispute, nothing for an inquiry), the dispute fee counts in the fees, every documented
status maps to a state and an unknown one is put to the organizer, not guessed (issue 13, 3)."""

from __future__ import annotations

import importlib
import typing
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client

from core.money import cad
from donations import selectors
from donations.models import DailyRollup, DisputeState, EventStatus, StripeEvent
from tests.support.money_flows import charge_of, paid_gift
from tests.support.payments import deliver

pytestmark = pytest.mark.django_db

FEE = cad("2.62")  # Stripe's 2.9 % + 30¢ on $80


@pytest.fixture
def gift(campaign, stripe_fake, django_capture_on_commit_callbacks):
    return paid_gift(
        Client(), campaign, stripe_fake, django_capture_on_commit_callbacks, "80", "d@example.ca"
    )


def send(fake, capture, kind, dispute):
    event = fake.event(f"charge.dispute.{kind}", dispute)
    deliver(Client(), event, capture)
    return event


def figures(campaign):
    t = selectors.campaign_totals(campaign=campaign)
    return t.raised, t.disputed, t.fees


def assert_rollups_match_totals(campaign):
    t = selectors.campaign_totals(campaign=campaign)
    sums = DailyRollup.objects.filter(campaign=campaign).aggregate(
        disputed=Sum("disputed"), fees=Sum("fees"), gross=Sum("gross")
    )
    assert (sums["disputed"], sums["fees"], sums["gross"]) == (
        t.disputed.amount, t.fees.amount, t.gross.amount,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "state", "raised", "disputed", "fees"),
    [
        # Won: Stripe gives the amount and the fee back (a second balance transaction).
        ("won", DisputeState.WON, cad("80.00"), cad("0.00"), FEE),
        ("lost", DisputeState.LOST, cad("0.00"), cad("80.00"), FEE + cad("15.00")),
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
    fees,
):
    capture = django_capture_on_commit_callbacks
    dispute = stripe_fake.dispute_open(charge_of(stripe_fake, gift)["id"])
    opened = send(stripe_fake, capture, "created", dispute)

    assert figures(campaign) == (cad("0.00"), cad("80.00"), FEE + cad("15.00"))  # fee counted
    gift.refresh_from_db()
    assert gift.dispute_state == DisputeState.OPEN
    assert (gift.dispute_amount, gift.dispute_withdrawn, gift.dispute_fee) == (
        cad("80.00"), cad("80.00"), cad("15.00"),
    )  # fmt: skip

    deliver(Client(), opened, capture)  # redelivery changes nothing
    send(stripe_fake, capture, "closed", stripe_fake.dispute_move(dispute["id"], outcome))

    gift.refresh_from_db()
    assert (gift.dispute_state, gift.dispute_status) == (state, outcome)
    assert figures(campaign) == (raised, disputed, fees)
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}
    assert_rollups_match_totals(campaign)


def test_a_partial_dispute_holds_only_its_amount_and_counts_its_fee(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    dispute = stripe_fake.dispute_open(charge_of(stripe_fake, gift)["id"], amount=3000)
    send(stripe_fake, capture, "created", dispute)

    t = selectors.campaign_totals(campaign=campaign)
    assert (t.gross, t.disputed, t.raised, t.fees, t.net) == (
        cad("80.00"), cad("30.00"), cad("50.00"), FEE + cad("15.00"), cad("32.38"),
    )  # fmt: skip
    gift.refresh_from_db()
    assert (gift.dispute_amount, gift.dispute_withdrawn) == (cad("30.00"), cad("30.00"))
    assert (t.donation_count, t.donor_count) == (1, 1)  # still a gift, from one donor
    assert_rollups_match_totals(campaign)

    send(stripe_fake, capture, "closed", stripe_fake.dispute_move(dispute["id"], "lost"))
    assert figures(campaign) == (cad("50.00"), cad("30.00"), FEE + cad("15.00"))


def test_an_inquiry_withdraws_nothing_and_holds_nothing(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    inquiry = stripe_fake.dispute_open(
        charge_of(stripe_fake, gift)["id"], status="warning_needs_response"
    )
    send(stripe_fake, capture, "created", inquiry)

    assert figures(campaign) == (cad("80.00"), cad("0.00"), FEE)
    gift.refresh_from_db()
    assert gift.dispute_state == DisputeState.INQUIRY

    send(stripe_fake, capture, "updated", stripe_fake.dispute_move(inquiry["id"], "warning_closed"))
    gift.refresh_from_db()
    assert gift.dispute_state == DisputeState.INQUIRY_CLOSED
    assert figures(campaign) == (cad("80.00"), cad("0.00"), FEE)


def test_an_inquiry_that_becomes_a_chargeback_is_held_from_then_on(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    inquiry = stripe_fake.dispute_open(
        charge_of(stripe_fake, gift)["id"], status="warning_under_review"
    )
    send(stripe_fake, capture, "created", inquiry)
    assert figures(campaign) == (cad("80.00"), cad("0.00"), FEE)

    moved = stripe_fake.dispute_move(inquiry["id"], "needs_response")
    send(stripe_fake, capture, "funds_withdrawn", moved)
    assert figures(campaign) == (cad("0.00"), cad("80.00"), FEE + cad("15.00"))


def test_a_close_arriving_before_the_open_keeps_the_outcome(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    created = stripe_fake.dispute_open(charge_of(stripe_fake, gift)["id"])
    closed = stripe_fake.dispute_move(created["id"], "lost")
    send(stripe_fake, capture, "closed", closed)
    send(stripe_fake, capture, "created", created)  # the older snapshot, delivered last

    gift.refresh_from_db()
    assert gift.dispute_state == DisputeState.LOST
    assert figures(campaign) == (cad("0.00"), cad("80.00"), FEE + cad("15.00"))


def test_a_dispute_after_a_partial_refund_holds_only_what_is_left(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    charge = stripe_fake.refund(charge_of(stripe_fake, gift)["id"], 2000)
    deliver(Client(), stripe_fake.event("charge.refunded", charge), capture)
    send(stripe_fake, capture, "created", stripe_fake.dispute_open(charge["id"]))

    t = selectors.campaign_totals(campaign=campaign)
    assert (t.gross, t.refunded, t.disputed, t.raised) == (
        cad("80.00"), cad("20.00"), cad("60.00"), cad("0.00"),
    )  # fmt: skip


def _documented_statuses() -> set[str]:
    """The `status` Literal of the installed SDK's Dispute (stripe/_dispute.py)."""
    dispute_cls = importlib.import_module("stripe._dispute").Dispute
    hint = dispute_cls.__annotations__["status"]
    if isinstance(hint, str):
        hint = eval(hint, {"Union": typing.Union, "Literal": typing.Literal, "str": str})  # noqa: S307
    literals = [a for a in typing.get_args(hint) if typing.get_origin(a) is typing.Literal]
    return {str(value) for literal in literals for value in typing.get_args(literal)}


def test_every_documented_status_maps_explicitly_and_none_is_taken_for_a_win():
    from donations.services.disputes import DISPUTE_STATES

    documented = _documented_statuses()
    assert "prevented" in documented and "appeal_under_review" in documented
    assert set(DISPUTE_STATES) == documented
    wins = {status for status, state in DISPUTE_STATES.items() if state == DisputeState.WON}
    assert wins == {"won"}


@pytest.mark.parametrize(
    ("status", "state", "held"),
    [
        ("appeal_needs_response", "appeal", cad("80.00")),  # DisputeState.APPEAL
        ("appeal_under_review", "appeal", cad("80.00")),
        ("prevented", "prevented", cad("0.00")),  # DisputeState.PREVENTED
    ],
)
def test_appeals_stay_held_and_a_prevented_dispute_holds_nothing(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks, status, state, held
):
    capture = django_capture_on_commit_callbacks
    if status == "prevented":
        dispute = stripe_fake.dispute_open(charge_of(stripe_fake, gift)["id"], status=status)
    else:
        dispute = stripe_fake.dispute_open(charge_of(stripe_fake, gift)["id"])
        dispute = stripe_fake.dispute_move(dispute["id"], status)
    send(stripe_fake, capture, "updated", dispute)

    assert selectors.campaign_totals(campaign=campaign).disputed == held
    gift.refresh_from_db()
    assert gift.dispute_state == state


def test_an_unknown_status_is_put_to_the_organizer_not_guessed(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    dispute = stripe_fake.dispute_open(charge_of(stripe_fake, gift)["id"])
    send(stripe_fake, capture, "created", dispute)
    event = send(stripe_fake, capture, "updated", stripe_fake.dispute_move(dispute["id"], "mulled"))

    gift.refresh_from_db()
    assert gift.dispute_state == DisputeState.OPEN  # not taken for a win
    assert gift.dispute_status == "mulled"
    assert "'mulled' is unknown" in gift.attention
    assert figures(campaign) == (cad("0.00"), cad("80.00"), FEE + cad("15.00"))
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == EventStatus.FLAGGED and "unknown" in stored.error

    send(stripe_fake, capture, "closed", stripe_fake.dispute_move(dispute["id"], "won"))
    gift.refresh_from_db()
    assert (gift.dispute_state, gift.attention) == (DisputeState.WON, "")
    assert figures(campaign)[:2] == (cad("80.00"), cad("0.00"))


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


def test_the_fee_fallback_without_balance_transactions_is_amount_and_fee():
    from donations.gateway.events import dispute_from

    fact = dispute_from({"id": "dp_1", "amount": 2500, "currency": "cad", "status": "lost"})
    assert fact.withdrawn is None and fact.amount == cad("25.00")
    moved = dispute_from({
        "id": "dp_1", "amount": 2500, "currency": "cad", "status": "won",
        "balance_transactions": [
            {"amount": -2500, "fee": 1500, "currency": "cad"},
            {"amount": 2500, "fee": -1500, "currency": "cad"},
        ],
    })  # fmt: skip
    assert (moved.withdrawn, moved.fee) == (cad("0.00"), cad("0.00"))
    assert Decimal("15.00") == importlib.import_module("donations.services.disputes").DISPUTE_FEE
