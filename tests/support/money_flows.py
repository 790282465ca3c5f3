"""Shared steps for the organizer-side tests: a paid Stripe gift, an offline gift, a dispute."""

from __future__ import annotations

from typing import Any

from django.test import Client

from campaign.models import Campaign
from donations.models import Donation
from testing.stripe_fake import StripeFake
from tests.support.payments import completed_event, deliver, start_checkout


def paid_gift(
    client: Client, campaign: Campaign, fake: StripeFake, capture: Any, amount: str, email: str
) -> Donation:
    """A member pays on Checkout; the webhook confirms it and the fee is read from Stripe."""
    donation, session_id = start_checkout(client, campaign, amount=amount, email=email)
    response = deliver(client, completed_event(fake, session_id), capture)
    assert response.status_code == 200
    donation.refresh_from_db()
    return donation


def charge_of(fake: StripeFake, donation: Donation) -> dict[str, Any]:
    return fake.charge_for_session(donation.checkout_session_id)
