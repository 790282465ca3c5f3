"""Helpers that drive a payment the way a member and Stripe do: through the site and the fake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from campaign.models import Campaign
from donations.models import Donation
from testing.stripe_fake import StripeFake
from tests.support.webhooks import post_event


def start_checkout(
    client: Client, campaign: Campaign, amount: str = "25", **fields: str
) -> tuple[Donation, str]:
    """Submit the donation form; returns the pending donation and its Checkout Session id."""
    data = {"amount": amount, "display_name": "Marie", "email": "marie@example.ca", **fields}
    data.setdefault("show_amount", "on")
    response = client.post(f"/campaigns/{campaign.slug}/donate/", data)
    assert response.status_code == 303, response.content
    session_id = response["Location"].rsplit("/", 1)[1]
    return Donation.objects.get(checkout_session_id=session_id), session_id


def deliver(
    client: Client, event: dict[str, Any], on_commit: Callable[..., Any], **kwargs: Any
) -> Any:
    """Post a signed event and run what the webhook enqueued on commit (the task, in-process)."""
    with on_commit(execute=True):
        return post_event(client, event, **kwargs)


def completed_event(
    fake: StripeFake, session_id: str, *, payment_status: str = "paid"
) -> dict[str, Any]:
    session = fake.complete(session_id, payment_status=payment_status)
    return fake.event("checkout.session.completed", session)


def refund_event(fake: StripeFake, session_id: str, cents: int | None = None) -> dict[str, Any]:
    charge = fake.charge_for_session(session_id)
    return fake.event("charge.refunded", fake.refund(charge["id"], cents))
