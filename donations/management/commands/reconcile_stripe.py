"""`manage.py reconcile_stripe`: apply what Stripe's webhooks missed (also run by Celery beat)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from donations import gateway
from donations.services import recovery


class Command(BaseCommand):
    help = (
        "Fetch recent Stripe events and Checkout Sessions, apply any the site missed, process "
        "stored events left unprocessed, and expire abandoned pending donations."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours", type=int, default=72, help="How far back to look (default 72 hours)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["hours"] <= 0:
            raise CommandError("--hours must be positive.")
        swept = recovery.events_sweep(older_than_seconds=0)
        try:
            report = recovery.reconcile(lookback_seconds=options["hours"] * 3600)
        except gateway.GatewayError as error:
            raise CommandError(f"Stripe could not be reached, nothing changed: {error}") from error
        self.stdout.write(
            f"events seen {report.events_seen}, recovered {report.events_recovered}, "
            f"sessions fulfilled {report.sessions_fulfilled}, "
            f"pending donations expired {report.donations_expired}, stored events swept {swept}"
        )
