"""Reads for donations: totals, supporters. One query each, whatever the number of donations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.core.paginator import Page, Paginator
from django.db.models import Count, DecimalField, OuterRef, QuerySet, Subquery, Sum
from djmoney.money import Money

from campaign.models import Campaign
from core.money import cad, goal_percent
from donations.models import CampaignTotals, Donation, DonationState, MonthlyGift, MonthlyStatus
from donations.selectors import prepared

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
    minutes_funded: int  # whole minutes, rounded down from the exact amount (for display)
    monthly_supporters: int = 0  # active monthly gifts
    monthly_amount: Money = field(default_factory=lambda: cad(0))  # what they give each month

    @property
    def online(self) -> Money:
        return cad(self.gross.amount - self.offline.amount)

    @property
    def goal_reached(self) -> bool:
        return self.raised.amount >= self.community_goal.amount > 0


def _monthly(aggregate: Any) -> Subquery:
    """One figure of the campaign's active monthly gifts, read in the totals' own query."""
    active = (
        MonthlyGift.objects.filter(campaign_id=OuterRef("campaign_id"), status=MonthlyStatus.ACTIVE)
        .order_by()
        .values("campaign_id")
    )
    return Subquery(active.annotate(figure=aggregate).values("figure")[:1])


# What the page reads of the counter row (CampaignTotals.raised and .net are computed from them).
_TOTALS_COLUMNS = (
    *("gross", "refunded", "disputed", "fees", "offline", "donor_count", "donation_count"),
    *("monthly_n", "monthly_sum"),
)
_ZERO = Decimal("0")


def campaign_totals(*, campaign: Campaign) -> Totals:
    def query() -> QuerySet[CampaignTotals, tuple[Any, ...]]:
        return (
            CampaignTotals.objects.filter(campaign_id=campaign.pk)
            .annotate(
                monthly_n=_monthly(Count("pk")),
                monthly_sum=_monthly(Sum("amount", output_field=DecimalField())),
            )
            .values_list(*_TOTALS_COLUMNS)
        )

    found = prepared.rows(("campaign_totals", campaign.pk), query)
    # No row yet: a campaign nobody has given to.
    gross, refunded, disputed, fees, offline, donors, donations, monthly_n, monthly_sum = (
        found[0] if found else (_ZERO,) * 5 + (0, 0, None, None)
    )
    raised = cad(gross - refunded - disputed)
    goal = campaign.community_goal
    percent = goal_percent(raised.amount, goal.amount)
    return Totals(
        gross=cad(gross),
        refunded=cad(refunded),
        disputed=cad(disputed),
        fees=cad(fees),
        offline=cad(offline),
        raised=raised,
        net=cad(raised.amount - fees),
        donor_count=donors,
        donation_count=donations,
        community_goal=cad(goal.amount),
        legal_cost=cad(campaign.legal_cost.amount),
        hourly_rate=cad(campaign.hourly_rate.amount),
        remaining=cad(max(goal.amount - raised.amount, Decimal("0"))),
        percent=percent,
        bar_percent=min(percent, Decimal("100")).quantize(Decimal("0.1"), ROUND_DOWN),
        hours_funded=campaign.hours_for(raised),
        minutes_funded=campaign.minutes_for(raised),
        monthly_supporters=int(monthly_n or 0),
        monthly_amount=cad(monthly_sum or _ZERO),
    )


def donation_by_public_id(*, public_id: str) -> Donation | None:
    return Donation.objects.select_related("campaign").filter(public_id=public_id).first()


@dataclass(frozen=True)
class PublicGift:
    """What the public may see of one gift: nothing else leaves this module for the donor wall.

    An anonymous gift shows neither a name nor an amount, and no gift carries a date or an id, so
    nothing on the wall can be matched against a bank statement or a timestamp.
    """

    name: str  # the donor's chosen name or nickname; "" for "Anonymous"
    amount: Money | None  # None when the donor chose not to show it
    message: str  # "" when none, or hidden by a moderator


def public_gift(donation: Donation) -> PublicGift:
    return _public_gift(
        donation.display_name,
        donation.anonymous,
        donation.show_amount,
        donation.amount.amount,
        donation.message,
        donation.message_hidden,
    )


def _public_gift(
    display_name: str,
    anonymous: bool,
    show_amount: bool,
    amount: Decimal,
    message: str,
    message_hidden: bool,
) -> PublicGift:
    # A gift without a name reads "Anonymous" but shows its amount if the donor chose to.
    nameless = anonymous or not display_name.strip()
    return PublicGift(
        name="" if nameless else display_name.strip(),
        amount=cad(amount) if show_amount and not anonymous else None,
        message="" if message_hidden else message.strip(),
    )


def _wall_queryset(*, campaign: Campaign) -> QuerySet[Donation]:
    return (
        Donation.objects.filter(campaign=campaign, state__in=PUBLIC_STATES, flag="")
        .order_by("-confirmed_at", "-id")
        .only(
            "display_name",
            "anonymous",
            "show_amount",
            "amount",
            "amount_currency",
            "message",
            "message_hidden",
        )
    )


_GIFT_COLUMNS = ("display_name", "anonymous", "show_amount", "amount", "message", "message_hidden")


def public_gifts_recent(*, campaign: Campaign, limit: int = 5) -> list[PublicGift]:
    def query() -> QuerySet[Donation, tuple[Any, ...]]:
        return _wall_queryset(campaign=campaign).values_list(*_GIFT_COLUMNS)[:limit]

    return [
        _public_gift(*row) for row in prepared.rows(("gifts_recent", campaign.pk, limit), query)
    ]


WALL_PAGE_SIZE = 50


def donor_wall(
    *, campaign: Campaign, page: int | str | None = 1, per_page: int = WALL_PAGE_SIZE
) -> Page[PublicGift]:
    """One page of the donor wall, newest first; a page number out of range gives the last page."""
    paginator = Paginator(_wall_queryset(campaign=campaign), per_page)
    donations = paginator.get_page(page)
    # The page keeps its numbering; its rows become what the public may see, and nothing more.
    gifts = [public_gift(d) for d in donations.object_list]
    return Page(gifts, donations.number, cast("Paginator[PublicGift]", paginator))


# --- The organizer's dashboard: read from counters and rollups, never by scanning donations ----


@dataclass(frozen=True)
class Dashboard:
    totals: Totals
    online: Money
    offline: Money
    average_gift: Money | None  # kept after refunds, per counted gift
    median_gift: Money | None
    fees_known: int  # online gifts whose Stripe fee is recorded (informational)


def median_from_tally(pairs: list[tuple[Decimal, int]]) -> Decimal | None:
    """Median of a multiset given as sorted (value, count) pairs; halves rounded half up."""
    n = sum(count for _, count in pairs if count > 0)
    if n == 0:
        return None
    wanted = [(n + 1) // 2, n // 2 + 1]  # 1-based ranks: the same one when n is odd
    found: list[Decimal] = []
    seen = 0
    for value, count in pairs:
        if count <= 0:
            continue
        seen += count
        while len(found) < 2 and seen >= wanted[len(found)]:
            found.append(value)
        if len(found) == 2:
            break
    middle = (found[0] + found[1]) / 2
    return middle.quantize(Decimal("0.01"), ROUND_HALF_UP)


def campaign_dashboard(*, campaign: Campaign) -> Dashboard:
    from donations.models import AmountTally

    totals = campaign_totals(campaign=campaign)
    pairs = list(
        AmountTally.objects.filter(campaign=campaign, count__gt=0)
        .order_by("amount")
        .values_list("amount", "count")
    )
    median = median_from_tally([(Decimal(a), int(c)) for a, c in pairs])
    kept = totals.gross.amount - totals.refunded.amount
    average = (
        cad((kept / totals.donation_count).quantize(Decimal("0.01"), ROUND_HALF_UP))
        if totals.donation_count
        else None
    )
    return Dashboard(
        totals=totals,
        online=totals.online,
        offline=totals.offline,
        average_gift=average,
        median_gift=cad(median) if median is not None else None,
        fees_known=0,
    )


@dataclass(frozen=True)
class ChartPoint:
    day: date
    raised: Money  # moved that day: gifts less refunds and disputes
    cumulative: Money


MAX_CHART_DAYS = 400


def chart_points(*, campaign: Campaign) -> list[ChartPoint]:
    """Money raised per day and cumulatively, every day from the first gift to the last change."""
    from donations.models import DailyRollup

    rows = {r.day: r.raised for r in DailyRollup.objects.filter(campaign=campaign).order_by("day")}
    if not rows:
        return []
    first, last = min(rows), max(rows)
    if (last - first).days > MAX_CHART_DAYS:
        days = sorted(rows)  # too long to draw every day: keep the days that moved
    else:
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    points = []
    running = Decimal("0")
    for day in days:
        moved = rows.get(day, Decimal("0"))
        running += moved
        points.append(ChartPoint(day=day, raised=cad(moved), cumulative=cad(running)))
    return points


def donations_for_export(*, campaign: Campaign) -> QuerySet[Donation]:
    return Donation.objects.filter(campaign=campaign).order_by("pk")
