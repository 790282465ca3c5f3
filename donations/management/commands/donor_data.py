"""`manage.py donor_data --email X --export|--erase`: a donor's PIPEDA access or erasure request."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from donations import gateway
from donations.services import privacy


class Command(BaseCommand):
    help = (
        "Export (JSON on stdout) or erase one donor's personal data. Erasure keeps amounts, "
        "states and dates, so the accounts and totals do not change; it deletes the Stripe "
        "customers of the donor's pledges (a pledge not charged yet is cancelled)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--export", action="store_true")
        action.add_argument("--erase", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        try:
            validate_email(email)
        except ValidationError as error:
            raise CommandError(f"Not an email address: {email!r}") from error
        if options["export"]:
            data = privacy.donor_data_export(email=email)
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        try:
            result = privacy.donor_data_erase(email=email)
        except privacy.ErasureRefused as error:
            raise CommandError(f"Nothing was erased: {error}") from error
        except gateway.GatewayError as error:
            raise CommandError(
                f"The personal data here is erased, but a Stripe customer could not be deleted "
                f"({error}): run the command again to finish."
            ) from error
        self.stdout.write(
            f"Erased personal data from {result['donations']} donations, "
            f"{result['stripe_events']} Stripe events, {result['other_records']} other records "
            f"and {result['stripe_customers']} Stripe customers."
        )
