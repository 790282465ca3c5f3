from __future__ import annotations

import pytest

from donations.models import Donation, DonationState

pytestmark = pytest.mark.django_db


def test_donation_creates_checkout_session_with_cents_and_idempotency_key(client, campaign, donor, stripe_fake):
    response = client.post(f"/campaigns/{campaign.slug}/donate/", donor)

    donation = Donation.objects.get()
    assert response.status_code == 303
    assert response["Location"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
    assert donation.state == DonationState.PENDING
    [request] = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    params = request["params"]
    assert params["mode"] == "payment"
    assert params["line_items"][0]["price_data"]["unit_amount"] == "2500"
    assert params["line_items"][0]["price_data"]["currency"] == "cad"
    assert params["client_reference_id"] == str(donation.public_id)
    assert params["metadata"] == {"donation": str(donation.public_id), "campaign": campaign.slug}
    assert request["headers"]["idempotency-key"] == f"checkout-{donation.public_id}"
    assert donation.checkout_session_id == response["Location"].rsplit("/", 1)[1]
