"""What a disputed gift weighs in the surplus split: what Stripe still leaves of it, exactly.

A gift weighs what the donor gave, net of refunds (done or on their way) and of what a dispute
withdrew and Stripe did not give back (`dispute_withdrawn`), never below zero. Disputes are applied
through `dispute_apply` (the service the webhook's `dispute_sync` ends in), so the totals move as
in production; with no balance transactions the service holds the dispute's amount and Stripe's
$15 fee while the money is withdrawn (open, appeal, lost) and nothing once it is won.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from djmoney.money import Money

from campaign.models import Stage, StageState
from core.money import cad
from donations import gateway, selectors, services
from donations.models import DisputeState, Donation
from donations.selectors import weights
from donations.services import surplus
from tests.support.factories import DonationFactory, confirmed_donation

pytestmark = pytest.mark.django_db


def dispute(gift: Donation, status: str, amount: str) -> Donation:
    """Stripe's dispute of `amount` on `gift`, now in `status`, applied as the webhook does."""
    with transaction.atomic():
        services.disputes.dispute_apply(
            dispute=gateway.Dispute(
                dispute_id=f"dp_{gift.pk}",
                payment_intent_id=gift.payment_intent_id,
                charge_id=gift.charge_id,
                status=status,
                amount=cad(amount),
                currency="CAD",
            )
        )
    gift.refresh_from_db()
    return gift


def spend(campaign, amount: str) -> Stage:
    return Stage.objects.create(
        campaign=campaign,
        title="Answer to the letters",
        flat_amount=cad(amount),
        spent=cad(amount),
        state=StageState.DONE,
    )


def shares(preview: surplus.Preview) -> dict[int, Money]:
    return {line.donation.pk: line.amount for line in preview.lines}


def balanced(preview: surplus.Preview) -> bool:
    return preview.refunded + preview.to_cause == preview.surplus


def test_an_appealed_gift_gets_no_share(campaign):
    appealed = confirmed_donation(campaign, "100.00")
    dispute(appealed, "needs_response", "100.00")
    dispute(appealed, "appeal_under_review", "100.00")
    other = confirmed_donation(campaign, "100.00")
    assert appealed.dispute_state == DisputeState.APPEAL
    assert appealed.dispute_withdrawn == cad("100.00")

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad("1000"))

    # Raised $100 (the appealed $100 is still withdrawn), fees $15 (the dispute fee), +$1,000.
    assert preview.raised == cad("100.00")
    assert preview.surplus == cad("1085.00")
    assert shares(preview) == {other.pk: cad("100.00")}
    assert preview.to_cause == cad("985.00")
    assert balanced(preview)


def test_a_partial_dispute_leaves_its_rest_a_share_split_to_the_cent(campaign):
    partly = confirmed_donation(campaign, "100.00")
    dispute(partly, "needs_response", "30.00")  # $30 of the $100 disputed and withdrawn
    second = confirmed_donation(campaign, "50.00")
    third = confirmed_donation(campaign, "30.00")
    spend(campaign, "35.00")
    assert partly.dispute_withdrawn == cad("30.00")

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad(0))

    # Raised $70 + $50 + $30 = $150, less $15 (dispute fee) and $35 spent: $100 over $150 of
    # weight. In cents: 10000 × 7000 / 15000 = 4666 r 10000, × 5000 → 3333 r 5000, × 3000 → 2000
    # r 0; one cent missing, to the largest remainder (the partly disputed gift).
    assert preview.raised == cad("150.00")
    assert preview.surplus == cad("100.00")
    assert shares(preview) == {
        partly.pk: cad("46.67"),
        second.pk: cad("33.33"),
        third.pk: cad("20.00"),
    }
    assert preview.to_cause == cad("0.00")
    assert balanced(preview)


def test_a_partly_lost_dispute_still_weighs_its_rest(campaign):
    lost = confirmed_donation(campaign, "100.00")
    dispute(lost, "needs_response", "40.00")
    dispute(lost, "lost", "40.00")

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad("1000"))

    assert preview.raised == cad("60.00")
    assert shares(preview) == {lost.pk: cad("60.00")}  # all Stripe left of it, no more
    assert preview.to_cause == preview.surplus - cad("60.00")
    assert balanced(preview)


def test_a_won_dispute_counts_fully(campaign):
    won = DonationFactory.create(campaign=campaign, amount=cad("100.00"), disputed="won")
    other = confirmed_donation(campaign, "50.00")
    assert won.dispute_state == DisputeState.WON
    assert won.dispute_withdrawn == cad("0.00")

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad(0))

    # $150 raised, no dispute fee kept once won: both gifts are repaid in full.
    assert preview.surplus == cad("150.00")
    assert shares(preview) == {won.pk: cad("100.00"), other.pk: cad("50.00")}
    assert balanced(preview)


def test_an_inquiry_weighs_the_whole_gift(campaign):
    asked = confirmed_donation(campaign, "80.00")
    dispute(asked, "warning_needs_response", "80.00")  # Stripe withdraws nothing for an inquiry
    other = confirmed_donation(campaign, "20.00")
    spend(campaign, "50.00")

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad(0))

    assert preview.surplus == cad("50.00")
    assert shares(preview) == {asked.pk: cad("40.00"), other.pk: cad("10.00")}
    assert balanced(preview)


def test_a_refund_on_its_way_on_a_wholly_withdrawn_gift_is_not_taken_off_twice(campaign):
    gift = confirmed_donation(campaign, "100.00", channel="demo")
    services.refund_request(donation=gift, amount=cad("40.00"), reason="Asked by the donor")
    dispute(gift, "needs_response", "100.00")
    dispute(gift, "appeal_needs_response", "100.00")  # still withdrawn, now under appeal
    other = confirmed_donation(campaign, "100.00", channel="demo")

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad(0))

    # The gift is wholly out of `raised` already: its $40 on its way leaves nothing more.
    assert selectors.campaign_totals(campaign=campaign).raised == cad("100.00")
    assert preview.raised == cad("100.00")
    assert preview.surplus == cad("85.00")  # $100 − the $15 dispute fee
    assert shares(preview) == {other.pk: cad("85.00")}
    assert balanced(preview)


def test_a_refund_on_its_way_comes_off_a_partial_disputes_rest_once(campaign):
    gift = confirmed_donation(campaign, "100.00", channel="demo")
    services.refund_request(donation=gift, amount=cad("20.00"), reason="Asked by the donor")
    dispute(gift, "needs_response", "30.00")
    other = confirmed_donation(campaign, "50.00", channel="demo")

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad("1000"))

    # $70 of the gift is still raised; $20 of it is on its way back: $50 stays, and weighs.
    assert preview.raised == cad("100.00")
    assert preview.surplus == cad("1085.00")
    assert shares(preview) == {gift.pk: cad("50.00"), other.pk: cad("50.00")}
    assert preview.to_cause == cad("985.00")
    assert balanced(preview)


def test_a_second_payments_refund_on_its_way_takes_nothing_off_the_gift(campaign):
    gift = confirmed_donation(campaign, "100.00")
    # A second payment for the same donation (never counted) is being given back.
    with transaction.atomic():
        services.ledger.refund_unwanted_payment(
            donation=gift,
            payment_intent_id="pi_second",
            amount=cad("100.00"),
            reason="Second payment for a donation already paid",
        )

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad(0))

    assert preview.raised == cad("100.00")
    assert shares(preview) == {gift.pk: cad("100.00")}
    assert balanced(preview)


@pytest.mark.parametrize(
    ("amount", "refunded", "withdrawn", "on_the_way", "kept", "leaving"),
    [
        ("100", "0", "0", "0", "100", "0"),
        ("100", "0", "30", "0", "70", "0"),  # partial dispute
        ("100", "0", "100", "40", "0", "0"),  # wholly withdrawn: the refund leaves nothing more
        ("100", "0", "30", "20", "70", "20"),
        ("100", "0", "80", "40", "20", "20"),  # only what is still raised can leave
        ("100", "60", "100", "0", "0", "0"),  # withdrawn beyond what is left: never below zero
        ("100", "120", "0", "0", "0", "0"),
    ],
)
def test_gift_weight(amount, refunded, withdrawn, on_the_way, kept, leaving):
    weight = weights.gift_weight(
        amount=Decimal(amount),
        refunded=Decimal(refunded),
        withdrawn=Decimal(withdrawn),
        on_the_way=Decimal(on_the_way),
    )

    assert weight.kept == Decimal(kept)
    assert weight.leaving == Decimal(leaving)
    assert weight.weight == Decimal(kept) - Decimal(leaving) >= 0
