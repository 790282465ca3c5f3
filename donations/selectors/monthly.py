"""Reads for monthly gifts: a donor's own, and a campaign's monthly pace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from djmoney.money import Money

from campaign.models import Campaign
from core.money import cad
from donations.models import MonthlyGift, MonthlyRenewalFailure, MonthlyStatus


def monthly_gifts_for_email(email: str) -> QuerySet[MonthlyGift]:
    """A donor's monthly gifts (any campaign), newest first; checkouts never finished left out."""
    normalized = email.strip()
    if not normalized:
        return MonthlyGift.objects.none()
    return (
        MonthlyGift.objects.filter(email__iexact=normalized)
        .exclude(status=MonthlyStatus.PENDING, started_at__isnull=True)
        .select_related("campaign")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class MonthlyPace:
    supporters: int  # active monthly gifts
    amount: Money  # what they give together each month
    months_to_goal: int | None  # whole months (rounded up) until the community share is covered

    def covered_by(self, today: date) -> date | None:
        """The month the remaining community share is covered at this pace."""
        if self.months_to_goal is None:
            return None
        month = today.month - 1 + self.months_to_goal
        return date(today.year + month // 12, month % 12 + 1, 1)


def monthly_pace(*, campaign: Campaign, remaining: Money) -> MonthlyPace:
    """One indexed query: the active monthly gifts and, from their sum, the months still needed."""
    row = MonthlyGift.objects.filter(campaign=campaign, status=MonthlyStatus.ACTIVE).aggregate(
        n=Count("pk"), total=Sum("amount")
    )
    amount = cad(row["total"] or Decimal("0"))
    months = None
    if amount.amount > 0 and remaining.amount > 0:
        months = int((remaining.amount / amount.amount).quantize(Decimal("1"), ROUND_UP))
    return MonthlyPace(supporters=int(row["n"] or 0), amount=amount, months_to_goal=months)


@dataclass(frozen=True)
class MonthlyDay:
    day: date
    new: int
    cancelled: int
    failed: int
    monthly_amount: Money  # what the gifts active at the end of that day give each month


@dataclass(frozen=True)
class MonthlyDashboard:
    active: int
    ending: int
    monthly_amount: Money
    new: int  # in the period
    cancelled: int  # asked to stop (or ended) in the period
    failed: int  # renewals that failed in the period
    days: list[MonthlyDay]


def _per_day(queryset: QuerySet[Any], field: str) -> dict[date, int]:
    return {
        row["d"]: row["n"]
        for row in queryset.annotate(d=TruncDate(field)).values("d").annotate(n=Count("pk"))
    }


def monthly_dashboard(*, campaign: Campaign, days: int = 30) -> MonthlyDashboard:
    """Active, new, cancelled and failed monthly gifts over the last `days`, and the monthly
    amount over time (from each gift's start and end: a handful of grouped queries)."""
    today = timezone.localdate()
    since = today - timedelta(days=days - 1)
    gifts = MonthlyGift.objects.filter(campaign=campaign)
    started = gifts.filter(started_at__isnull=False)
    new = _per_day(started.filter(started_at__date__gte=since), "started_at")
    stopped = gifts.filter(cancel_requested_at__date__gte=since)
    cancelled = _per_day(stopped, "cancel_requested_at")
    failed = _per_day(
        MonthlyRenewalFailure.objects.filter(gift__campaign=campaign, failed_at__date__gte=since),
        "failed_at",
    )
    # (first day, first day no longer giving or None, amount) of every gift that started.
    spans = [
        (timezone.localdate(start), timezone.localdate(stop) if stop else None, amount)
        for start, stop, amount in started.values_list(
            "started_at", Coalesce("cancel_requested_at", "ended_at"), "amount"
        )
    ]
    series = []
    for offset in range(days):
        day = since + timedelta(days=offset)
        total = sum(
            (a for first, last, a in spans if first <= day and (last is None or last > day)),
            Decimal("0"),
        )
        series.append(
            MonthlyDay(
                day=day,
                new=new.get(day, 0),
                cancelled=cancelled.get(day, 0),
                failed=failed.get(day, 0),
                monthly_amount=cad(total),
            )
        )
    by_status = dict(gifts.values_list("status").annotate(n=Count("pk")))
    active_amount = gifts.filter(status=MonthlyStatus.ACTIVE).aggregate(t=Sum("amount"))["t"]
    return MonthlyDashboard(
        active=int(by_status.get(MonthlyStatus.ACTIVE, 0)),
        ending=int(by_status.get(MonthlyStatus.ENDING, 0)),
        monthly_amount=cad(active_amount or Decimal("0")),
        new=sum(new.values()),
        cancelled=sum(cancelled.values()),
        failed=sum(failed.values()),
        days=series,
    )


def monthly_gift_by_public_id(*, public_id: str) -> MonthlyGift | None:
    try:
        return MonthlyGift.objects.select_related("campaign").filter(public_id=public_id).first()
    except (ValueError, TypeError, ValidationError):
        return None
