"""Reads for case stages: estimate, raised and pledged toward each, and the admin's pledge counts.

Money raised by ordinary donations funds the stages in order: each done, active or funding stage
takes up to its estimate (less what its own pledges paid), and the last of them takes whatever is
left, so the stages add up to the campaign's total. Charged pledges count toward their own stage.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from djmoney.money import Money

from campaign.models import Campaign, Stage, StageState
from core.money import cad
from donations.models import (
    PLEDGE_OPEN_STATES,
    CaseClosure,
    DonationState,
    Pledge,
    PledgeState,
)
from donations.selectors import prepared
from donations.selectors.donations import Totals
from donations.selectors.weights import gift_weight

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


def _pledge_figures(
    *, stage_ids: list[int]
) -> tuple[dict[int, tuple[Decimal, int]], dict[int, Decimal]]:
    """In one query: what each stage's open pledges promise (amount, count), and what its charged
    pledges still bring, as the totals count them (`weights.gift_weight`): net of refunds and of
    what a dispute withdrew, nothing for a flagged payment. A refund on its way still counts here,
    as in the `raised` total the stages add up to."""
    counted = Q(
        state=PledgeState.CHARGED,
        donation__state__in=(DonationState.CONFIRMED, DonationState.REFUNDED),
        donation__flag="",
    )

    def query() -> QuerySet[Pledge, tuple[Any, ...]]:
        return Pledge.objects.filter(
            Q(state__in=PLEDGE_OPEN_STATES) | counted, stage_id__in=stage_ids
        ).values_list(
            "stage_id",
            "state",
            "amount",
            "donation__amount",
            "donation__amount_refunded",
            "donation__dispute_withdrawn",
        )

    # Read for every change of a campaign with pledges: compiled once (see prepared.py).
    rows = prepared.rows(("stage_pledges", tuple(stage_ids)), query)
    pledged: dict[int, tuple[Decimal, int]] = {}
    paid: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for stage_id, state, promised, amount, refunded, withdrawn in rows:
        if state in PLEDGE_OPEN_STATES:
            total, n = pledged.get(stage_id, (ZERO, 0))
            pledged[stage_id] = (total + Decimal(promised or 0), n + 1)
        else:
            paid[stage_id] += gift_weight(
                amount=Decimal(amount), refunded=Decimal(refunded), withdrawn=Decimal(withdrawn)
            ).weight
    return pledged, dict(paid)


def stages_of(*, campaign: Campaign) -> list[Stage]:
    return list(Stage.objects.filter(campaign=campaign).select_related("campaign"))


def pledges_exist(*, stages: list[Stage]) -> bool:
    return Pledge.objects.filter(stage_id__in=[s.pk for s in stages]).exists()


def stage_rows(
    *,
    campaign: Campaign,
    totals: Totals,
    stages: list[Stage] | None = None,
    any_pledge: bool = True,
) -> list[StageRow]:
    """`stages`: the campaign's stages when the caller already has them (the campaign page keeps
    them with the parts it renders once per edit; a stage's edit is such an edit). `any_pledge`
    False: the caller knows no pledge exists for them (one created is such an edit too)."""
    if stages is None:
        stages = stages_of(campaign=campaign)
    if not stages:
        return []
    pledged, paid = _pledge_figures(stage_ids=[s.pk for s in stages]) if any_pledge else ({}, {})
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
