"""Stripe failing or slow when a member starts a donation: a clear 503, never a 500, and retries
that reuse the pending donation and its idempotency key."""

from __future__ import annotations

import pytest

from donations.models import Donation, DonationState

pytestmark = pytest.mark.django_db

UNAVAILABLE = "We could not reach the payment service. Nothing was charged."


def _donate(client, campaign, donor):
    return client.post(f"/campaigns/{campaign.slug}/donate/", donor)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, "api_error"),
        (503, "api_error"),
        # 429 is Stripe's rate limit: its own page (tests/donations/test_checkout_rate.py).
        (401, "authentication_error"),
    ],
)
def test_checkout_failure_shows_503_page_and_keeps_the_pending_donation(
    client, campaign, donor, stripe_fake, status, kind
):
    stripe_fake.fail_next(status, kind)

    response = _donate(client, campaign, donor)

    assert response.status_code == 503
    assert UNAVAILABLE in response.content.decode()
    donation = Donation.objects.get()
    assert donation.state == DonationState.PENDING and donation.checkout_session_id == ""
    assert f"/donations/{donation.public_id}/retry/" in response.content.decode()


def test_checkout_timeout_shows_503_page(client, campaign, donor, stripe_fake, settings):
    settings.STRIPE_TIMEOUT_SECONDS = 0.3
    stripe_fake.delay_seconds = 1.0

    response = _donate(client, campaign, donor)

    assert response.status_code == 503
    assert UNAVAILABLE in response.content.decode()
    assert Donation.objects.get().state == DonationState.PENDING


def test_try_again_reuses_the_donation_and_its_idempotency_key(
    client, campaign, donor, stripe_fake, settings
):
    # Stripe opened the session but the answer never arrived (a timeout): the retry with the
    # same key gets the same session back, so the member cannot end up with two.
    settings.STRIPE_TIMEOUT_SECONDS = 0.3
    stripe_fake.delay_seconds = 1.0
    assert _donate(client, campaign, donor).status_code == 503
    donation = Donation.objects.get()
    stripe_fake.delay_seconds = 0

    response = client.post(f"/donations/{donation.public_id}/retry/")

    assert response.status_code == 303
    requests = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    first, retry = (r["headers"]["idempotency-key"] for r in requests)
    assert first == retry
    assert first.startswith(f"checkout-{donation.public_id}-")
    assert len(stripe_fake.sessions) == 1
    donation.refresh_from_db()
    assert response["Location"].endswith(donation.checkout_session_id)
    assert Donation.objects.count() == 1


def test_sdk_network_retries_send_the_same_idempotency_key(
    client, campaign, donor, stripe_fake, settings
):
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    stripe_fake.fail_next(500, "api_error")

    response = _donate(client, campaign, donor)

    assert response.status_code == 303
    keys = {
        r["headers"]["idempotency-key"]
        for r in stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    }
    assert len(stripe_fake.requests_to("POST", "/v1/checkout/sessions")) == 2
    [key] = keys
    assert key.startswith(f"checkout-{Donation.objects.get().public_id}-")


def test_retry_of_a_donation_no_longer_pending_goes_back_to_the_campaign(
    client, campaign, donor, stripe_fake
):
    assert _donate(client, campaign, donor).status_code == 303
    donation = Donation.objects.get()
    Donation.objects.filter(pk=donation.pk).update(state=DonationState.EXPIRED)

    response = client.post(f"/donations/{donation.public_id}/retry/")

    assert response.status_code == 302
    assert response["Location"] == campaign.get_absolute_url()
    assert len(stripe_fake.requests_to("POST", "/v1/checkout/sessions")) == 1
