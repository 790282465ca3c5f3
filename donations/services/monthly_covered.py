"""Monthly gifts that stop by themselves: "until the legal cost is covered", and the case closure.

When the community goal is met, every "until covered" gift is cancelled at period end through
Stripe; when the organizer closes the case, every monthly gift is. Each gift's stop is *claimed*
by one conditional update (`stop_claimed_at` from null to now): two gifts crossing the goal at the
same moment, a redelivered webhook and the sweep all race for the claim, and only the winner
queues the Stripe request (`donations.tasks.monthly_stop`, idempotency key per gift).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from campaign.models import Campaign
from core import jobs
from donations import selectors
from donations.models import MonthlyEndReason, MonthlyGift, MonthlyStatus

# Gifts that may still charge: the ones an automatic stop applies to.
RUNNING = (MonthlyStatus.ACTIVE, MonthlyStatus.PAST_DUE)


def _claim(gifts: Q, *, reason: str) -> list[int]:
    claimed = []
    candidates = MonthlyGift.objects.filter(gifts, stop_claimed_at__isnull=True)
    for pk in candidates.values_list("pk", flat=True):
        won = MonthlyGift.objects.filter(pk=pk, stop_claimed_at__isnull=True).update(
            stop_claimed_at=timezone.now()
        )
        if won:
            claimed.append(pk)
            jobs.enqueue("donations.tasks.monthly_stop", pk, reason)
    return claimed


def covered_check(*, campaign_id: int) -> list[int]:
    """After a gift counted: if the goal is now met, stop the "until covered" gifts (once each).
    Returns the ids claimed by this call."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if not selectors.campaign_totals(campaign=campaign).goal_reached:
        return []
    gifts = Q(campaign_id=campaign_id, until_covered=True, status__in=RUNNING)
    return _claim(gifts, reason=MonthlyEndReason.COVERED)


def closure_stop_all(*, campaign_id: int) -> list[int]:
    """The case is closed: stop every monthly gift of the campaign before the accounts freeze."""
    gifts = Q(campaign_id=campaign_id, status__in=(*RUNNING, MonthlyStatus.PENDING))
    return _claim(gifts, reason=MonthlyEndReason.CLOSURE)


def stops_unfinished() -> list[int]:
    """Claimed stops whose Stripe request never went through (broker down, worker died): the
    sweep queues them again; the request's idempotency key makes a repeat harmless."""
    return list(
        MonthlyGift.objects.filter(
            stop_claimed_at__isnull=False, cancel_requested_at__isnull=True
        ).values_list("pk", flat=True)
    )
