"""Reads for donations: totals, supporters. One query each, whatever the number of donations."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.db.models import QuerySet
from djmoney.money import Money

from campaign.models import Campaign, cad

from .models import CampaignTotals, Donation, DonationState

PUBLIC_STATES = (DonationState.CONFIRMED,)


@dataclass(frozen=True)
class Totals:
    gross: Money
    refunded: Money
    disputed: Money
    fees: Money
    offline: Money
    raised: Money
    net: Money
    donor_count: int
    donation_count: int
    community_goal: Money
    legal_cost: Money
    hourly_rate: Money
    remaining: Money
    percent: Decimal  # of the community goal, one decimal, may exceed 100
    bar_percent: Decimal  # capped at 100 for drawing the bar
    hours_funded: Decimal  # hundredths of an hour, rounded down

    @property
    def online(self) -> Money:
        return cad(self.gross.amount - self.offline.amount)

    @property
    def goal_reached(self) -> bool:
        return self.raised.amount >= self.community_goal.amount > 0


def campaign_totals(*, campaign: Campaign) -> Totals:
    row = CampaignTotals.objects.filter(campaign_id=campaign.pk).first()
    if row is None:
        row = CampaignTotals(campaign_id=campaign.pk)
    raised = row.raised
    goal = campaign.community_goal
    if goal.amount > 0:
        percent = (raised.amount * 100 / goal.amount).quantize(Decimal("0.1"), ROUND_HALF_UP)
    else:
        percent = Decimal("0.0")
    return Totals(
        gross=cad(row.gross.amount),
        refunded=cad(row.refunded.amount),
        disputed=cad(row.disputed.amount),
        fees=cad(row.fees.amount),
        offline=cad(row.offline.amount),
        raised=raised,
        net=row.net,
        donor_count=row.donor_count,
        donation_count=row.donation_count,
        community_goal=cad(goal.amount),
        legal_cost=cad(campaign.legal_cost.amount),
        hourly_rate=cad(campaign.hourly_rate.amount),
        remaining=cad(max(goal.amount - raised.amount, Decimal("0"))),
        percent=percent,
        bar_percent=min(percent, Decimal("100")).quantize(Decimal("0.1"), ROUND_DOWN),
        hours_funded=campaign.hours_for(raised),
    )


def recent_supporters(*, campaign: Campaign, limit: int = 5) -> QuerySet[Donation]:
    """The latest counted gifts, newest first, with only what the public may see loaded."""
    return (
        Donation.objects.filter(campaign=campaign, state__in=PUBLIC_STATES, flag="")
        .order_by("-confirmed_at", "-id")
        .only(
            "display_name", "anonymous", "show_amount", "amount", "amount_currency", "message",
            "confirmed_at", "campaign_id",
        )[:limit]
    )


def donation_by_public_id(*, public_id: str) -> Donation | None:
    return Donation.objects.select_related("campaign").filter(public_id=public_id).first()
