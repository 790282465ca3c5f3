"""The case's parts of the campaign page: stages, the community's share, the surplus rule and the
final accounts. Public pages may compose both apps; campaign's services and selectors do not."""

from __future__ import annotations

from campaign.community import community_share
from campaign.models import Campaign
from core.formatting import number_format
from donations.selectors import Totals
from donations.selectors import stages as stage_selectors


def case_context(*, campaign: Campaign, totals: Totals) -> dict[str, object]:
    stages = stage_selectors.stage_rows(campaign=campaign, totals=totals)
    share = community_share(
        donor_count=totals.donor_count,
        member_count=campaign.member_count,
        remaining=totals.remaining,
    )
    context: dict[str, object] = {
        "stages": stages,
        "community": share,
        "closure": stage_selectors.closure_for(campaign=campaign),
    }
    if share is not None:
        percent = share.percent_of_members
        context["community_percent"] = number_format(percent, places=2 if percent < 1 else 1)
        context["community_members"] = number_format(share.member_count, places=0)
        context["community_one_in"] = number_format(share.one_in or 0, places=0)
    return context
