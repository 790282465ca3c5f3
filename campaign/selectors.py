"""Reads for campaigns and their updates."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from .models import Campaign, Update


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
