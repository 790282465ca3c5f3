"""The legal-cost ledger: its lines make the campaign's total legal cost, with a dated history."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext
from djmoney.money import Money

from campaign.models import Campaign, GoalChange, LegalCost
from core.formatting import money_format
from core.money import cad

logger = logging.getLogger(__name__)


def _ledger_reason(entry: LegalCost, verb: str) -> str:
    what = gettext("details private") if entry.is_private else entry.description
    return f"{verb}: {what} ({money_format(entry.amount)})"[:300]


@transaction.atomic
def legal_cost_save(*, entry: LegalCost) -> LegalCost:
    """Record or correct a ledger line; the campaign's legal cost follows, with a dated change."""
    if entry.hours is None and entry.flat_amount is None:
        raise ValueError("A ledger line needs hours or a flat amount.")
    if entry.hours is not None and entry.rate is None:
        entry.rate = cad(entry.campaign.hourly_rate.amount)
    entry.amount = entry.computed_amount()
    if entry.is_paid and entry.paid_on is None:
        entry.paid_on = timezone.localdate()
    if not entry.is_paid:
        entry.paid_on = None
    created = entry.pk is None
    moved_from = None
    if not created:
        # A line moved to another campaign leaves its old campaign's ledger too.
        previous = LegalCost.objects.filter(pk=entry.pk).values_list("campaign_id", flat=True)
        moved_from = next((pk for pk in previous if pk != entry.campaign_id), None)
    entry.save()
    legal_cost_sync(
        campaign_id=entry.campaign_id,
        reason=_ledger_reason(entry, gettext("Recorded") if created else gettext("Corrected")),
    )
    if moved_from is not None:
        legal_cost_sync(
            campaign_id=moved_from, reason=_ledger_reason(entry, gettext("Moved elsewhere"))
        )
    return entry


@transaction.atomic
def legal_cost_delete(*, entry: LegalCost) -> None:
    campaign_id = entry.campaign_id
    reason = _ledger_reason(entry, gettext("Removed"))
    entry.delete()
    legal_cost_sync(campaign_id=campaign_id, reason=reason)


def _typed_legal_cost(*, campaign: Campaign) -> Money:
    """The figure the organizer typed before the ledger's first line.

    The ledger's history starts after the last time it was emptied; its first change started from
    the typed figure (a first line at that figure changes nothing and leaves no change).
    """
    changes = GoalChange.objects.filter(campaign=campaign).order_by("id")
    emptied = changes.filter(closes_ledger=True).last()
    if emptied is not None:
        changes = changes.filter(id__gt=emptied.pk)
    first = changes.first()
    return cad((first.old_legal_cost if first is not None else campaign.legal_cost).amount)


def legal_cost_sync(*, campaign_id: int, reason: str) -> GoalChange | None:
    """Make the campaign's total legal cost the ledger's sum, keeping a dated history.

    The ledger governs once it has a line. When its last line goes (deleted or moved), the legal
    cost returns to the figure the organizer typed before the ledger's first line.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    lines = LegalCost.objects.filter(campaign_id=campaign_id)
    current = cad(campaign.legal_cost.amount)
    emptied = not lines.exists()
    if emptied:
        total = _typed_legal_cost(campaign=campaign)
    else:
        total = cad(lines.aggregate(total=Sum("amount"))["total"] or 0)
        if total == current:
            return None
    change = GoalChange.objects.create(
        campaign=campaign,
        old_legal_cost=current,
        new_legal_cost=total,
        reason=reason,
        closes_ledger=emptied,
    )
    campaign.legal_cost = total
    campaign.save(update_fields=["legal_cost", "updated_at"])
    return change
