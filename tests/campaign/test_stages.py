"""Case stages on the campaign page (estimate, raised, pledged, in lawyer hours) and the community's
share ("N donors — X% of the members", "if 1 in K members gives $G, we are done")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from campaign.community import community_share
from campaign.models import Stage, StageState
from core.money import cad
from donations import gateway, selectors
from donations.models import Pledge, PledgeState
from donations.selectors import stages as stage_selectors
from donations.services import disputes, stages
from tests.support.factories import PledgeFactory, StageFactory, confirmed_donation

pytestmark = pytest.mark.django_db


def test_estimate_is_hours_at_the_rate_or_a_flat_amount(campaign):
    hourly = StageFactory.create(campaign=campaign, title="Trial", estimated_hours=Decimal("40"))
    flat = StageFactory.create(
        campaign=campaign, title="Court fees", estimated_hours=None, flat_amount=cad("350")
    )

    assert hourly.estimate == cad("10000.00")  # 40 h × $250
    assert flat.estimate == cad("350.00")


def pledged(stage_obj: Stage, amount: str, state: str = PledgeState.PLEDGED) -> Pledge:
    return Pledge.objects.create(
        stage=stage_obj, amount=cad(amount), email="p@example.ca", state=state
    )


def test_raised_money_fills_the_stages_in_order_and_pledges_count_apart(campaign):
    answer = StageFactory.create(
        campaign=campaign,
        title="Answer",
        estimated_hours=None,
        flat_amount=cad("2000"),
        state=StageState.DONE,
        position=1,
    )
    motion = StageFactory.create(
        campaign=campaign,
        title="Motion",
        estimated_hours=Decimal("4"),
        state=StageState.FUNDING,
        position=2,
    )
    trial = StageFactory.create(
        campaign=campaign, title="Trial", estimated_hours=Decimal("40"), position=3
    )
    for amount in ("1500", "600", "100"):
        confirmed_donation(campaign, amount)
    pledged(trial, "50")
    pledged(trial, "25")
    pledged(trial, "10", state=PledgeState.CANCELLED)

    rows = stage_selectors.stage_rows(
        campaign=campaign, totals=selectors.campaign_totals(campaign=campaign)
    )

    by_title = {row.stage.title: row for row in rows}
    assert [r.stage.title for r in rows] == ["Answer", "Motion", "Trial"]
    assert by_title["Answer"].raised == cad("2000.00")  # capped at its estimate
    assert by_title["Motion"].raised == cad("200.00")  # the stage being funded takes the rest
    assert by_title["Motion"].raised_hours == Decimal("0.80")
    assert by_title["Trial"].raised == cad("0.00")
    assert by_title["Trial"].pledged == cad("75.00")  # cancelled pledges do not count
    assert by_title["Trial"].pledge_count == 2
    assert by_title["Trial"].pledged_hours == Decimal("0.30")
    assert by_title["Trial"].estimate_hours == Decimal("40.00")
    assert answer.pk and motion.pk


def test_campaign_page_shows_each_stage_with_estimate_raised_pledged_and_hours(client, campaign):
    StageFactory.create(
        campaign=campaign,
        title="Answer to the letters",
        estimated_hours=None,
        flat_amount=cad("2000"),
        state=StageState.FUNDING,
        position=1,
    )
    trial = StageFactory.create(
        campaign=campaign,
        title="Trial preparation",
        description="If they sue.",
        estimated_hours=Decimal("40"),
        position=2,
    )
    confirmed_donation(campaign, "500")
    pledged(trial, "125")

    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()

    assert "Stages of the case" in page
    assert "Answer to the letters" in page
    assert "$2,000.00" in page
    assert 'data-field="stage-raised">$500.00 (2 hours)' in page
    assert "Trial preparation" in page
    assert "(if needed)" in page
    assert "$10,000.00" in page
    assert "(40 hours at $250 an hour)" in page
    assert 'data-field="stage-pledged">$125.00 (30 minutes) — 1 pledge' in page
    assert f"/campaigns/{campaign.slug}/stages/{trial.pk}/pledge/" in page


def test_pledge_link_disappears_once_the_stage_is_active(client, campaign):
    trial = StageFactory.create(campaign=campaign, title="Trial", estimated_hours=Decimal("40"))
    stages.stage_activate(stage_id=trial.pk)

    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()

    assert f"/stages/{trial.pk}/pledge/" not in page


@pytest.mark.parametrize(
    ("remaining", "members", "one_in", "gift"),
    [
        ("1500", 46000, 500, "25"),  # 92 × $25 = $2,300 ≥ $1,500; 1 in 1,000 = 46 × $25 = $1,150
        ("1000", 46000, 1000, "25"),  # 46 × $25 = $1,150
        ("100", 46000, 10000, "25"),  # 4 × $25 = $100 exactly
        ("1500", 500, 10, "50"),  # $25 is never enough: 50 × $25 = $1,250; 50 × $50 = $2,500
        ("100000", 500, None, None),  # no honest phrase: nothing is shown
        ("0", 46000, None, None),  # done: no ask
    ],
)
def test_the_ask_is_the_most_modest_true_phrase(remaining, members, one_in, gift):
    share = community_share(donor_count=12, member_count=members, remaining=cad(remaining))

    assert share is not None
    assert share.one_in == one_in
    assert share.gift == (cad(gift) if gift else None)
    if share.gift is not None:
        assert share.givers * share.gift.amount >= Decimal(remaining)


def test_share_of_members_and_no_share_without_a_community_size():
    share = community_share(donor_count=12, member_count=46000, remaining=cad(0))
    assert share is not None
    assert share.percent_of_members == Decimal("0.03")  # 12 / 46,000 = 0.026%
    big = community_share(donor_count=920, member_count=46000, remaining=cad(0))
    assert big is not None and big.percent_of_members == Decimal("2.0")
    assert community_share(donor_count=12, member_count=0, remaining=cad(10)) is None


def test_page_shows_the_community_share(client, campaign):
    campaign.member_count = 46000
    campaign.save()
    for i in range(3):
        confirmed_donation(campaign, "100", email=f"d{i}@example.ca")

    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()

    # $1,500 asked, $300 raised: $1,200 left. 1 in 1,000 (46 × $25 = $1,150) is short; 1 in 500 not.
    assert "3 donors — 0.01% of the 46,000 members" in page
    assert "If 1 in 500 members gives $25, we are done." in page


def test_page_hides_the_community_share_without_a_size(client, campaign):
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "of the members" not in page


def test_french_page_renders_stages_and_the_community_share(client, campaign):
    campaign.member_count = 46000
    campaign.save()
    trial = StageFactory.create(
        campaign=campaign, title="Préparation du procès", estimated_hours=Decimal("40")
    )
    pledged(trial, "1500")

    response = client.get(f"/fr/campaigns/{campaign.slug}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Préparation du procès" in page
    assert "1\u00a0500,00\u00a0$" in page  # the pledged amount, formatted for Quebec
    assert "46\u00a0000" in page


# --- Disputed pledge charges: a charge weighs what Stripe still leaves of it ------------------


def disputed_pledge_stages(campaign, status: str, disputed: str) -> tuple[Stage, Stage]:
    """Answer ($200, done) funded by $150 of ordinary gifts; Motion ($1,000, active) with a
    $100 pledge charged, then disputed for `disputed` and now in Stripe's `status`."""
    answer = StageFactory.create(
        campaign=campaign,
        title="Answer",
        estimated_hours=None,
        flat_amount=cad("200"),
        state=StageState.DONE,
        position=1,
    )
    motion = StageFactory.create(
        campaign=campaign,
        title="Motion",
        estimated_hours=None,
        flat_amount=cad("1000"),
        active=True,
        position=2,
    )
    confirmed_donation(campaign, "150")
    pledge = PledgeFactory.create(stage=motion, amount=cad("100"), charged=True)
    assert pledge.donation is not None
    for step in ("needs_response", status):
        with transaction.atomic():
            disputes.dispute_apply(
                dispute=gateway.Dispute(
                    dispute_id=f"dp_{pledge.donation.pk}",
                    payment_intent_id=pledge.donation.payment_intent_id,
                    charge_id="",
                    status=step,
                    amount=cad(disputed),
                    currency="CAD",
                )
            )
    return answer, motion


@pytest.mark.parametrize(
    ("status", "disputed", "answer", "motion"),
    [
        # $30 of the $100 charge withdrawn: its $70 rest stays the Motion's own.
        ("needs_response", "30", "150.00", "70.00"),
        ("lost", "30", "150.00", "70.00"),
        # Appealed: all $100 still withdrawn, the Motion's pledge brings nothing.
        ("appeal_under_review", "100", "150.00", "0.00"),
        # Won: Stripe gave it all back, the pledge counts fully.
        ("won", "100", "150.00", "100.00"),
    ],
)
def test_a_disputed_pledge_charge_weighs_what_stripe_leaves(
    campaign, status, disputed, answer, motion
):
    disputed_pledge_stages(campaign, status, disputed)
    totals = selectors.campaign_totals(campaign=campaign)

    rows = {r.stage.title: r for r in stage_selectors.stage_rows(campaign=campaign, totals=totals)}

    assert rows["Answer"].raised == cad(answer)
    assert rows["Motion"].raised == cad(motion)
    # The stages add up to the campaign's total, disputes and all.
    assert rows["Answer"].raised + rows["Motion"].raised == totals.raised
