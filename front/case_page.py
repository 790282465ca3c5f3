"""The case's parts of the campaign page: stages, the community's share, the surplus rule and the
final accounts. Public pages may compose both apps; campaign's services and selectors do not."""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from campaign.community import community_share
from campaign.models import Campaign, Stage
from core.formatting import number_format
from donations.models import CaseClosure
from donations.selectors import Totals
from donations.selectors import stages as stage_selectors


@dataclass(frozen=True)
class StageParts:
    """What the page shows of a stage that only an edit changes (its texts, its estimate, its
    notices), rendered once per edit from campaign/_stages.html's partials: re-rendering them
    for every gift was half the stages' cost."""

    head: SafeString
    tail: SafeString
    pledge_url: str


@dataclass(frozen=True)
class CaseFrame:
    """The case's parts that only an edit changes: the stages themselves (their progress is
    computed per change) and the final accounts, fixed when the case is closed."""

    stages: list[Stage]
    closure: CaseClosure | None
    # False while no pledge exists for the stages: the first one created drops the frame
    # (front/cache.py), so each render skips the pledges' query until then.
    any_pledge: bool
    parts: dict[int, StageParts]


def case_frame(*, campaign: Campaign) -> CaseFrame:
    stages = stage_selectors.stages_of(campaign=campaign)
    return CaseFrame(
        stages=stages,
        closure=stage_selectors.closure_for(campaign=campaign),
        any_pledge=bool(stages) and stage_selectors.pledges_exist(stages=stages),
        parts={stage.pk: _stage_parts(campaign=campaign, stage=stage) for stage in stages},
    )


def _stage_parts(*, campaign: Campaign, stage: Stage) -> StageParts:
    context = {
        "campaign": campaign,
        "stage": stage,
        "estimate_hours": campaign.hours_for(stage.estimate),
    }
    return StageParts(
        head=SafeString(render_to_string("campaign/_stages.html#stage_head", context)),
        tail=SafeString(render_to_string("campaign/_stages.html#stage_tail", context)),
        pledge_url=reverse(
            "donations:pledge_new", kwargs={"slug": campaign.slug, "stage_id": stage.pk}
        ),
    )


def case_context(
    *, campaign: Campaign, totals: Totals, frame: CaseFrame | None = None
) -> dict[str, object]:
    frame = frame or case_frame(campaign=campaign)
    stages = stage_selectors.stage_rows(
        campaign=campaign, totals=totals, stages=frame.stages, any_pledge=frame.any_pledge
    )
    share = community_share(
        donor_count=totals.donor_count,
        member_count=campaign.member_count,
        remaining=totals.remaining,
    )
    context: dict[str, object] = {
        "stages": stages,
        "stage_views": [(row, frame.parts[row.stage.pk]) for row in stages],
        "community": share,
    }
    if share is not None:
        percent = share.percent_of_members
        context["community_percent"] = number_format(percent, places=2 if percent < 1 else 1)
        context["community_members"] = number_format(share.member_count, places=0)
        context["community_one_in"] = number_format(share.one_in or 0, places=0)
    return context
