"""The campaign page's monthly sentence: "N members give $X every month", and from that pace the
month the community share is covered. One indexed query (`selectors.monthly_pace`)."""

from __future__ import annotations

from django.utils import timezone

from campaign.models import Campaign
from donations import selectors
from donations.selectors import Totals


def monthly_context(*, campaign: Campaign, totals: Totals) -> dict[str, object]:
    pace = selectors.monthly_pace(campaign=campaign, remaining=totals.remaining)
    return {"monthly": pace, "monthly_covered_by": pace.covered_by(timezone.localdate())}
