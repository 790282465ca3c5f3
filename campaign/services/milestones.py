"""Milestones of the community goal: a draft update for the organizer at each one."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.utils import translation

from campaign.models import Campaign, Update
from core.formatting import money_format

logger = logging.getLogger(__name__)

MILESTONES = (25, 50, 75, 100)


def milestones_reached(*, percent: Decimal) -> list[int]:
    """The milestones (percent of the community goal) a total has reached."""
    return [m for m in MILESTONES if percent >= m]


def milestone_drafts_prepare(*, campaign: Campaign, percent: Decimal) -> list[int]:
    """A draft update per milestone reached, for the organizer to edit and publish; idempotent.

    Drafts are never shown until the organizer publishes them. The draft's slug names the milestone,
    so a second crossing (after a refund dips the total) prepares nothing new.
    """
    reached = milestones_reached(percent=percent)
    if not reached:
        return []
    slugs = {f"milestone-{m}": m for m in reached}
    existing = set(
        Update.objects.filter(campaign=campaign, slug__in=slugs).values_list("slug", flat=True)
    )
    created = []
    # Drafts are written in the site's default language, whoever's payment crossed the line.
    with translation.override(settings.LANGUAGE_CODE):
        goal = money_format(campaign.community_goal)
    for slug, milestone in slugs.items():
        if slug in existing:
            continue
        title = (
            f"We reached the community goal of {goal}!"
            if milestone == 100
            else f"{milestone}% of the community goal raised"
        )
        body = (
            f"Thanks to you, {milestone}% of the {goal} asked of members has been raised.\n\n"
            "(Draft prepared automatically: edit it, then tick *published*.)"
        )
        _, was_created = Update.objects.get_or_create(
            campaign=campaign,
            slug=slug,
            defaults={"title": title, "body": body, "is_published": False},
        )
        if was_created:
            created.append(milestone)
    return created
