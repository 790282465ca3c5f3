"""Reads for case stages: estimate, raised and pledged toward each, and the admin's pledge counts.

Money raised by ordinary donations funds the stages in order: each done, active or funding stage
takes up to its estimate (less what its own pledges paid), and the last of them takes whatever is
left, so the stages add up to the campaign's total. Charged pledges count toward their own stage.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db.models import Count, Sum
from djmoney.money import Money

from campaign.models import Campaign, Stage, StageState
from core.money import cad
from donations.models import (
    PLEDGE_OPEN_STATES,
    CaseClosure,
    DisputeState,
    DonationState,
    Pledge,
    PledgeState,
)
from donations.selectors.donations import Totals

FUNDED_STATES = (StageState.DONE, StageState.ACTIVE, StageState.FUNDING)
ZERO = Decimal("0")


@dataclass(frozen=True)
class StageRow:
    stage: Stage
    estimate: Money
    estimate_hours: Decimal
    raised: Money  # paid money attributed to this stage
    raised_hours: Decimal
    pledged: Money  # promised by open pledges, not yet paid
    pledged_hours: Decimal
    pledge_count: int
    percent: Decimal  # (raised + pledged) of the estimate, for the bar; may exceed 100

    @property
    def bar_percent(self) -> Decimal:
        return min(self.percent, Decimal("100"))


def _paid_by_pledges(*, campaign: Campaign) -> dict[int, Decimal]:
    """What each stage's charged pledges still bring: as the totals count them, net of refunds,
    nothing for a flagged payment or a disputed one (open or lost)."""
    rows = (
        Pledge.objects.filter(
            stage__campaign=campaign,
            state=PledgeState.CHARGED,
            donation__state__in=(DonationState.CONFIRMED, DonationState.REFUNDED),
            donation__flag="",
        )
        .exclude(donation__dispute_state__in=(DisputeState.OPEN, DisputeState.LOST))
        .values_list("stage_id", "donation__amount", "donation__amount_refunded")
    )
    paid: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for stage_id, amount, refunded in rows:
        paid[stage_id] += max(Decimal(amount) - Decimal(refunded), ZERO)
    return dict(paid)


def stage_rows(*, campaign: Campaign, totals: Totals) -> list[StageRow]:
    stages = list(Stage.objects.filter(campaign=campaign).select_related("campaign"))
    if not stages:
        return []
    open_rows = (
        Pledge.objects.filter(stage__campaign=campaign, state__in=PLEDGE_OPEN_STATES)
        .values("stage_id")
        .annotate(total=Sum("amount"), n=Count("id"))
    )
    pledged = {row["stage_id"]: (Decimal(row["total"] or 0), row["n"]) for row in open_rows}
    paid = _paid_by_pledges(campaign=campaign)
    general = max(totals.raised.amount - sum(paid.values(), ZERO), ZERO)
    funded = [s for s in stages if s.state in FUNDED_STATES]
    allocated: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for index, stage in enumerate(funded):
        room = max(stage.estimate.amount - paid.get(stage.pk, ZERO), ZERO)
        take = general if index == len(funded) - 1 else min(general, room)
        allocated[stage.pk] = take
        general -= take
    rows = []
    for stage in stages:
        raised = cad(allocated[stage.pk] + paid.get(stage.pk, ZERO))
        promised, count = pledged.get(stage.pk, (ZERO, 0))
        estimate = stage.estimate
        percent = (
            # Down, never to the nearest: 99.95 % of the way is not "100 %" yet.
            ((raised.amount + promised) * 100 / estimate.amount).quantize(
                Decimal("0.1"), rounding=ROUND_DOWN
            )
            if estimate.amount > 0
            else ZERO
        )
        rows.append(
            StageRow(
                stage=stage,
                estimate=estimate,
                estimate_hours=campaign.hours_for(estimate),
                raised=raised,
                raised_hours=campaign.hours_for(raised),
                pledged=cad(promised),
                pledged_hours=campaign.hours_for(cad(promised)),
                pledge_count=count,
                percent=percent,
            )
        )
    return rows


def stage_pledge_counts(*, stage: Stage) -> dict[str, tuple[int, Money]]:
    """Count and amount of the stage's pledges in each state, every state present."""
    counts = {state.value: (0, cad(0)) for state in PledgeState}
    for row in (
        Pledge.objects.filter(stage=stage).values("state").annotate(n=Count("id"), t=Sum("amount"))
    ):
        counts[row["state"]] = (row["n"], cad(row["t"] or 0))
    return counts


def closure_for(*, campaign: Campaign) -> CaseClosure | None:
    return CaseClosure.objects.filter(campaign=campaign).first()


def pledge_by_public_id(*, public_id: str) -> Pledge | None:
    return (
        Pledge.objects.select_related("stage__campaign", "donation")
        .filter(public_id=public_id)
        .first()
    )
