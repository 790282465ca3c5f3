"""The campaign page's figures read through SQL compiled once (donations/selectors/prepared.py):
the same values as the ORM gives, read afresh every time, one query each."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Count, F

from campaign.models import Campaign
from core.money import cad
from donations import selectors
from donations.models import CampaignTotals, Donation
from donations.selectors import prepared
from donations.selectors.donations import _wall_queryset, public_gift
from tests.support.factories import (
    CampaignFactory,
    DonationFactory,
    OfflineGiftFactory,
    confirmed_donation,
)
from tests.support.factories.monthly import MonthlyGiftFactory

pytestmark = pytest.mark.django_db


def test_totals_are_the_counter_rows_and_move_with_each_gift(
    campaign: Campaign, django_assert_num_queries: Any
) -> None:
    confirmed_donation(campaign, "40.00", email="a@example.ca")
    DonationFactory.create(campaign=campaign, amount=cad("30.00"), refunded="10.00")
    OfflineGiftFactory.create(campaign=campaign, amount=cad("100.00"))
    MonthlyGiftFactory.create(campaign=campaign, active=True, amount=cad("15.00"))
    MonthlyGiftFactory.create(campaign=campaign, active=True, amount=cad("5.00"))
    MonthlyGiftFactory.create(campaign=campaign, amount=cad("50.00"))  # pending: not counted
    row = CampaignTotals.objects.get(campaign=campaign)
    with django_assert_num_queries(1):
        totals = selectors.campaign_totals(campaign=campaign)
    assert totals.gross == row.gross and totals.refunded == row.refunded
    assert totals.offline == row.offline == cad("100.00") and totals.fees == row.fees
    assert totals.raised == row.raised == cad("160.00") and totals.net == row.net
    assert (totals.donor_count, totals.donation_count) == (row.donor_count, row.donation_count)
    assert (totals.monthly_supporters, totals.monthly_amount) == (2, cad("20.00"))
    assert isinstance(totals.raised.amount, Decimal)
    # The SQL is kept, the rows are not: the next gift shows on the next read.
    confirmed_donation(campaign, "2.50", email="b@example.ca")
    with django_assert_num_queries(1):
        assert selectors.campaign_totals(campaign=campaign).raised == cad("162.50")


def test_a_campaign_without_a_counter_row_reads_zero() -> None:
    campaign = CampaignFactory.create(slug="fresh")
    CampaignTotals.objects.filter(campaign=campaign).delete()
    totals = selectors.campaign_totals(campaign=campaign)
    assert totals.raised == cad(0) and totals.donor_count == 0 and totals.monthly_supporters == 0


def test_each_campaign_reads_its_own_figures(campaign: Campaign) -> None:
    other = CampaignFactory.create(slug="other-fund")
    confirmed_donation(campaign, "10.00")
    confirmed_donation(other, "70.00")
    assert selectors.campaign_totals(campaign=campaign).raised == cad("10.00")
    assert selectors.campaign_totals(campaign=other).raised == cad("70.00")
    assert selectors.public_gifts_recent(campaign=other)[0].amount == cad("70.00")


def test_recent_supporters_are_the_walls_first_gifts(
    campaign: Campaign, django_assert_num_queries: Any
) -> None:
    confirmed_donation(campaign, "10.00", display_name="Ada", message="  Go!  ")
    confirmed_donation(campaign, "11.00", display_name="Bo", show_amount=False)
    confirmed_donation(campaign, "12.00", anonymous=True, display_name="Hidden")
    confirmed_donation(campaign, "13.00", display_name="  ", show_amount=True)
    confirmed_donation(campaign, "14.00", display_name="Cy", message="rude", message_hidden=True)
    confirmed_donation(campaign, "15.00", display_name="Di")
    DonationFactory.create(campaign=campaign, amount=cad("99.00"), display_name="Unpaid")
    DonationFactory.create(campaign=campaign, amount=cad("98.00"), flagged=True, confirmed=True)
    with django_assert_num_queries(1):
        recent = selectors.public_gifts_recent(campaign=campaign, limit=5)
    assert recent == [public_gift(d) for d in _wall_queryset(campaign=campaign)[:5]]
    assert [g.name for g in recent] == ["Di", "Cy", "", "", "Bo"]
    assert [g.amount for g in recent] == [cad("15.00"), cad("14.00"), cad("13.00"), None, None]
    assert recent[1].message == ""
    assert len(selectors.public_gifts_recent(campaign=campaign, limit=2)) == 2
    confirmed_donation(campaign, "16.00", display_name="Eve")
    assert selectors.public_gifts_recent(campaign=campaign, limit=5)[0].name == "Eve"


def test_rows_are_what_the_orm_reads_annotations_and_decimals_included(campaign: Campaign) -> None:
    """In `values_list`'s order, each column converted as Django converts it (SQLite's decimals)."""
    confirmed_donation(campaign, "10.00", display_name="Ada")

    def query() -> Any:
        return (
            Donation.objects.filter(campaign=campaign)
            .annotate(doubled=F("amount") * 2, n=Count("pk"))
            .values_list("n", "display_name", "doubled", "amount")
        )

    assert prepared.rows(("test-order", campaign.pk), query) == list(query())
    assert prepared.rows(("test-order", campaign.pk), query) == list(query())
