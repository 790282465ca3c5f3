from __future__ import annotations

import re

import pytest

from core.money import cad
from donations.models import Donation, DonationState

pytestmark = pytest.mark.django_db


def test_donation_creates_checkout_session_with_cents_and_idempotency_key(
    client, campaign, donor, stripe_fake
):
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
    # the donation's id and a hash of what may differ between two attempts (language, URLs)
    assert re.fullmatch(
        f"checkout-{donation.public_id}-[0-9a-f]{{16}}", request["headers"]["idempotency-key"]
    )
    assert donation.checkout_session_id == response["Location"].rsplit("/", 1)[1]


def test_checkout_request_carries_everything_stripe_needs(client, campaign, donor, stripe_fake):
    response = client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, "amount": "19.99"})

    donation = Donation.objects.get()
    [request] = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    params = request["params"]
    assert response.status_code == 303
    assert params["line_items"][0]["price_data"]["unit_amount"] == "1999"
    assert params["line_items"][0]["quantity"] == "1"
    assert params["line_items"][0]["price_data"]["product_data"]["name"] == campaign.title
    assert params["payment_intent_data"]["metadata"] == {
        "donation": str(donation.public_id),
        "campaign": campaign.slug,
    }
    assert params["customer_email"] == "marie@example.ca"
    assert params["submit_type"] == "donate"
    assert params["locale"] == "en"
    assert params["success_url"] == (
        f"http://testserver/donations/{donation.public_id}/thanks/?session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert params["cancel_url"] == f"http://testserver/donations/{donation.public_id}/cancelled/"
    assert request["headers"]["authorization"] == "Bearer sk_test_fake"
    assert request["headers"]["content-type"] == "application/x-www-form-urlencoded"


def test_french_page_opens_checkout_in_french(client, campaign, donor, stripe_fake):
    client.post(f"/fr/campaigns/{campaign.slug}/donate/", donor)

    [request] = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    assert request["params"]["locale"] == "fr"
    assert Donation.objects.get().language == "fr"


def test_no_email_sends_no_customer_email(client, campaign, donor, stripe_fake):
    client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, "email": ""})

    [request] = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    assert "customer_email" not in request["params"]


def test_stripe_down_shows_a_clear_page_and_counts_nothing(client, campaign, donor, stripe_fake):
    stripe_fake.fail_next(500)

    response = client.post(f"/campaigns/{campaign.slug}/donate/", donor)

    assert response.status_code == 503
    assert "Nothing was charged" in response.content.decode()
    donation = Donation.objects.get()
    assert donation.state == DonationState.PENDING
    assert donation.checkout_session_id == ""


def test_stripe_refusing_the_request_is_not_a_500(client, campaign, donor, stripe_fake):
    stripe_fake.fail_next(400, "invalid_request_error")

    response = client.post(f"/campaigns/{campaign.slug}/donate/", donor)

    assert response.status_code == 503


def test_a_retry_reuses_the_idempotency_key_and_gets_the_same_session(campaign, stripe_fake):
    from donations import services

    donation = services.donation_start(campaign=campaign, amount=cad("30"), email="")
    urls = {"success_url": "https://x.test/ok", "cancel_url": "https://x.test/no"}

    first = services.checkout_begin(donation=donation, **urls)
    second = services.checkout_begin(donation=donation, **urls)

    assert first == second
    keys = [r["headers"]["idempotency-key"] for r in stripe_fake.requests]
    assert keys[0] == keys[1]
    assert keys[0].startswith(f"checkout-{donation.public_id}-")
    assert len(stripe_fake.sessions) == 1
