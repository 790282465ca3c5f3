"""Writes for campaigns and updates."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from .models import Campaign, Update, cad

DEMO_SLUG = "legal-defense-fund"

DEMO_STORY = """\
**Maple Swarm**, a one-year-old file-sharing forum with **46,000 members** in Quebec, has received
cease-and-desist letters from four record labels. They demand that we close the site, promise never
to run a similar service again, and post a notice telling you that sharing music is forbidden.

We are not taking this lying down. We have a lawyer, and we are going to answer in court.

- Our lawyer bills **$250 an hour**.
- The fees confirmed so far come to **$2,000**.
- We are asking the members for **$1,500**; the administrator pays the rest himself.

What is at stake is bigger than one forum. If we lose, the labels get a precedent to go after every
peer-to-peer community in Canada. If we win, that precedent works for all of us.

Without your help the choice is simple: close the site. Every dollar here goes to legal fees, and this
page shows where each one goes. Stay tuned: updates will follow as the case moves.
"""

DEMO_UPDATE = """\
The letters arrived from four labels this week. Our lawyer has reviewed them, and his fees to
answer are confirmed at **$2,000**. The administrator covers $500; we are asking you for $1,500.

At $250 an hour, every $25 pays for six minutes of legal work. We will post here as soon as the
lawyer sends our answer. Stay tuned, updates to follow.
"""


@transaction.atomic
def campaign_seed_demo() -> tuple[Campaign, bool]:
    """Create the demo campaign and its first update; running it again changes nothing."""
    campaign, created = Campaign.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "title": "Maple Swarm Legal Defense Fund",
            "summary": "Help a 46,000-member Quebec forum answer a cease-and-desist in court.",
            "story": DEMO_STORY,
            "legal_cost": cad(Decimal("2000.00")),
            "community_goal": cad(Decimal("1500.00")),
            "hourly_rate": cad(Decimal("250.00")),
            "organizer_name": "The Maple Swarm administrator",
            "starts_on": timezone.localdate(),
            "is_active": True,
        },
    )
    Update.objects.get_or_create(
        campaign=campaign,
        slug="letters-received",
        defaults={
            "title": "Cease-and-desist received: we are fighting it",
            "body": DEMO_UPDATE,
            "is_published": True,
            "published_at": timezone.now(),
        },
    )
    return campaign, created
