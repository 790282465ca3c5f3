"""Monthly gifts driven as a supporter and Stripe do: the form, then the fake's subscription."""

from __future__ import annotations

from typing import Any

from django.test import Client

from campaign.models import Campaign
from donations.models import MonthlyGift
from testing.stripe_fake import StripeFake


def start_monthly(
    client: Client, campaign: Campaign, amount: str = "20", *, prefix: str = "", **fields: str
) -> tuple[MonthlyGift, str]:
    """Submit the donation form with "every month" (`prefix="/fr"`: the French page); returns
    the pending gift and its Checkout Session id."""
    data = {
        "amount": amount,
        "frequency": "monthly",
        "display_name": "Marie",
        "email": "marie@example.ca",
        "show_amount": "on",
        **fields,
    }
    response = client.post(f"{prefix}/campaigns/{campaign.slug}/donate/", data)
    assert response.status_code == 303, response.content
    session_id = response["Location"].rsplit("/", 1)[1]
    return MonthlyGift.objects.get(checkout_session_id=session_id), session_id


def subscribed(fake: StripeFake, session_id: str) -> dict[str, Any]:
    """Complete the subscription on the fake: the `checkout.session.completed` event."""
    return fake.event("checkout.session.completed", fake.complete_subscription(session_id))


def invoice_event(fake: StripeFake, kind: str, invoice: dict[str, Any]) -> dict[str, Any]:
    return fake.event(kind, invoice)
