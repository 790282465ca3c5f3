"""Reads for campaigns and their updates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, QuerySet
from django.utils import timezone
from djmoney.money import Money

from campaign.models import Campaign, DeliveryStatus, GoalChange, LegalCost, Update, UpdateDelivery
from core.money import cad


def campaign_active() -> Campaign | None:
    return Campaign.objects.active().order_by("-starts_on", "-id").first()


def campaign_by_slug(*, slug: str) -> Campaign | None:
    return Campaign.objects.filter(slug=slug).first()


def updates_visible(*, campaign: Campaign) -> QuerySet[Update]:
    """Published updates whose publish time has come: scheduled posts appear on their own."""
    return Update.objects.filter(
        campaign=campaign, is_published=True, published_at__lte=timezone.now()
    ).order_by("-published_at", "-id")


def update_latest(*, campaign: Campaign) -> Update | None:
    return updates_visible(campaign=campaign).first()


def update_by_ref(*, campaign: Campaign, ref: str) -> Update | None:
    """A visible update by its slug, or by its id (links keep working after a slug changes)."""
    updates = updates_visible(campaign=campaign)
    found = updates.filter(slug=ref).first()
    if found is None and ref.isdigit():
        found = updates.filter(pk=int(ref)).first()
    return found


def update_delivery_progress(*, update: Update) -> dict[str, int]:
    """How many of an update's emails are pending, sending, sent and failed."""
    counts = {status.value: 0 for status in DeliveryStatus}
    rows = (
        UpdateDelivery.objects.filter(update=update)
        .values("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


@dataclass(frozen=True)
class LedgerLine:
    date: date
    kind: str
    description: str  # empty when the admin marked the line private
    hours: Decimal | None
    rate: Money | None
    amount: Money
    is_paid: bool
    is_private: bool


@dataclass(frozen=True)
class LedgerSummary:
    fees_confirmed: Money
    fees_paid: Money
    fees_unpaid: Money
    hours_billed: Decimal
    lines: list[LedgerLine]
    history: list[GoalChange]


def ledger_summary(*, campaign: Campaign, public: bool = True) -> LedgerSummary:
    """The legal-cost ledger as members see it: private lines keep their amount, lose details."""
    entries = list(LegalCost.objects.filter(campaign=campaign).order_by("date", "id"))
    lines = [
        LedgerLine(
            date=e.date,
            kind=e.get_kind_display(),
            description="" if (public and e.is_private) else e.description,
            hours=None if (public and e.is_private) else e.hours,
            rate=None if (public and e.is_private) else e.rate,
            amount=cad(e.amount.amount),
            is_paid=e.is_paid,
            is_private=e.is_private,
        )
        for e in entries
    ]
    confirmed = sum((e.amount.amount for e in entries), Decimal("0"))
    paid = sum((e.amount.amount for e in entries if e.is_paid), Decimal("0"))
    return LedgerSummary(
        fees_confirmed=cad(confirmed) if entries else cad(campaign.legal_cost.amount),
        fees_paid=cad(paid),
        fees_unpaid=cad((confirmed if entries else campaign.legal_cost.amount) - paid),
        hours_billed=sum((e.hours for e in entries if e.hours is not None), Decimal("0")),
        lines=lines,
        # The marker of a first line at the typed figure changed nothing the public would see.
        history=list(
            GoalChange.objects.filter(campaign=campaign)
            .exclude(old_legal_cost=F("new_legal_cost"))
            .order_by("changed_at", "id")
        ),
    )
