"""Seeding the demo campaign (safe to run again: fills only what is missing)."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from campaign.demo import DEMO_FR, DEMO_SLUG, DEMO_STAGES, DEMO_STORY, DEMO_UPDATE
from campaign.models import Campaign, LegalCost, Stage, StageState, Update
from campaign.services.legal_costs import legal_cost_sync
from core.money import cad

logger = logging.getLogger(__name__)


def _fill_empty(obj: Campaign | Update | Stage, values: dict[str, str]) -> None:
    """Write the French text into the fields still empty: an organizer's own wording stays."""
    changed = [name for name, value in values.items() if not getattr(obj, name)]
    for name in changed:
        setattr(obj, name, values[name])
    if changed:
        obj.save(update_fields=changed)


@transaction.atomic
def campaign_seed_demo() -> tuple[Campaign, bool]:
    """Create the demo campaign and its first update; running it again changes nothing."""
    campaign, created = Campaign.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "title": "Maple Swarm Legal Defense Fund",
            "summary": "Help a 46,000-member Quebec forum answer a cease-and-desist in court.",
            "story": DEMO_STORY,
            "title_fr": DEMO_FR["title"],
            "summary_fr": DEMO_FR["summary"],
            "story_fr": DEMO_FR["story"],
            "legal_cost": cad(Decimal("2000.00")),
            "community_goal": cad(Decimal("1500.00")),
            "hourly_rate": cad(Decimal("250.00")),
            "organizer_name": "The Maple Swarm administrator",
            "starts_on": timezone.localdate(),
            "is_active": True,
            "member_count": 46000,
        },
    )
    if not created:
        # A campaign seeded before the French fields existed gets them now, once.
        _fill_empty(
            campaign,
            {
                "title_fr": DEMO_FR["title"],
                "summary_fr": DEMO_FR["summary"],
                "story_fr": DEMO_FR["story"],
            },
        )
    if not Stage.objects.filter(campaign=campaign).exists():
        # The fight in stages: the answer is funded now; a trial only if the labels sue.
        for position, (title, hours, state) in enumerate(
            (
                ("Answer to the cease-and-desist letters", "8", StageState.FUNDING),
                ("Trial preparation", "40", StageState.POSSIBLE),
            ),
            start=1,
        ):
            description, title_fr, description_fr = DEMO_STAGES[title]
            Stage.objects.create(
                campaign=campaign,
                position=position,
                title=title,
                description=description,
                title_fr=title_fr,
                description_fr=description_fr,
                estimated_hours=Decimal(hours),
                state=state,
            )
    else:
        for stage in Stage.objects.filter(campaign=campaign, title__in=DEMO_STAGES):
            _, title_fr, description_fr = DEMO_STAGES[stage.title]
            _fill_empty(stage, {"title_fr": title_fr, "description_fr": description_fr})
    update, update_created = Update.objects.get_or_create(
        campaign=campaign,
        slug="letters-received",
        defaults={
            "title": "Cease-and-desist received: we are fighting it",
            "body": DEMO_UPDATE,
            "title_fr": DEMO_FR["update_title"],
            "body_fr": DEMO_FR["update_body"],
            "is_published": True,
            "published_at": timezone.now(),
        },
    )
    if not update_created:
        _fill_empty(
            update, {"title_fr": DEMO_FR["update_title"], "body_fr": DEMO_FR["update_body"]}
        )
    if not LegalCost.objects.filter(campaign=campaign).exists():
        # The confirmed fees as a ledger line: 8 hours at $250 to answer the letters ($2,000).
        LegalCost.objects.create(
            campaign=campaign,
            kind="retainer",
            description="Retainer: answer to the cease-and-desist letters",
            hours=Decimal("8.00"),
            rate=cad(campaign.hourly_rate.amount),
            amount=cad(Decimal("8.00") * campaign.hourly_rate.amount),
        )
        legal_cost_sync(campaign_id=campaign.pk, reason="Retainer recorded")
    return campaign, created
