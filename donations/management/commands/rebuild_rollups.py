"""Rebuild the dashboard's daily rollup and amount tally from the donations (one-off scan)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from campaign.models import Campaign
from donations import services


class Command(BaseCommand):
    help = "Rebuild each campaign's daily rollup and amount tally from its donations."

    def handle(self, *args: Any, **options: Any) -> None:
        for campaign in Campaign.objects.order_by("pk"):
            read = services.rollups_rebuild(campaign=campaign)
            self.stdout.write(f"{campaign.slug}: {read} counted gifts")
