"""Stripe's rate limit (25 Checkout Sessions a second per endpoint) respected and survived.

Above STRIPE_CHECKOUT_RATE, shared by every web process through the cache, or when Stripe answers
429 anyway, the donor gets "many people are giving right now, try again in N seconds" (429 with
Retry-After) and no pending donation is left behind: none is created when our limit refuses, and
the one Stripe refused is reused by "Try again" with the same idempotency key.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
import redis.exceptions
from django.test import Client
from django.utils import translation

from campaign.models import Campaign
from donations.gateway import stripe as stripe_backend
from donations.models import Donation, DonationState
from donations.services import checkout_rate
from testing.stripe_fake import StripeFake


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The limiter's clock, in a second of its own (no other test counts in it)."""
    now = [2_000_000_000.25 + id(monkeypatch) % 1_000_000 * 10]
    monkeypatch.setattr(checkout_rate, "clock", lambda: now[0])
    return now


def donate(client: Client, campaign: Campaign, donor: dict[str, str], **extra: str) -> Any:
    return client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, **extra})


def test_stripe_429_gives_the_busy_page_and_try_again_reuses_the_donation(
    client: Client, campaign: Campaign, donor: dict[str, str], stripe_fake: StripeFake, at: Any
) -> None:
    stripe_fake.fail_next(429, "invalid_request_error")

    response = donate(client, campaign, donor)

    assert response.status_code == 429
    assert response["Retry-After"] == "2"
    html = response.content.decode()
    assert "Many people are giving right now" in html
    assert "Nothing was charged. Please try again in 2 seconds." in html
    donation = Donation.objects.get()
    assert donation.state == DonationState.PENDING and donation.checkout_session_id == ""
    retry = re.search(r'action="(/donations/[^"]+/retry/)"', html)
    assert retry is not None

    at[0] += 2
    again = client.post(retry.group(1))

    assert again.status_code == 303 and "checkout.stripe.test" in again["Location"]
    donation.refresh_from_db()
    assert Donation.objects.count() == 1  # the same gift, not a second one
    assert donation.checkout_session_id.startswith("cs_")
    first, second = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    assert first["headers"]["idempotency-key"] == second["headers"]["idempotency-key"]


def test_stripe_429_on_a_monthly_gift_gives_the_busy_page_with_the_form_to_resend(
    client: Client, campaign: Campaign, donor: dict[str, str], stripe_fake: StripeFake, at: Any
) -> None:
    stripe_fake.fail_next(429, "invalid_request_error")

    response = donate(client, campaign, donor, frequency="monthly")

    assert response.status_code == 429
    assert response["Retry-After"] == "2"
    html = response.content.decode()
    assert "Many people are giving right now" in html
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    assert fields["frequency"] == "monthly" and fields["email"] == donor["email"]


def test_the_busy_page_in_french(
    client: Client, campaign: Campaign, donor: dict[str, str], stripe_fake: StripeFake, at: Any
) -> None:
    stripe_fake.fail_next(429, "invalid_request_error")
    with translation.override("fr"):
        response = client.post(f"/fr/campaigns/{campaign.slug}/donate/", donor)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Beaucoup de gens donnent en ce moment" in html
    assert "Réessayez dans 2 secondes" in html


def test_above_the_rate_nothing_is_created_and_try_again_resends_the_gift(
    client: Client,
    campaign: Campaign,
    donor: dict[str, str],
    stripe_fake: StripeFake,
    settings: Any,
    at: list[float],
) -> None:
    settings.STRIPE_CHECKOUT_RATE = 2
    assert donate(client, campaign, donor).status_code == 303
    assert donate(client, campaign, donor).status_code == 303

    refused = donate(client, campaign, donor, amount="40")

    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"
    assert Donation.objects.count() == 2  # the refused start wrote nothing
    assert len(stripe_fake.requests_to("POST", "/v1/checkout/sessions")) == 2
    html = refused.content.decode()
    assert "try again in 1 second." in html
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    assert fields["amount"] == "40" and fields["email"] == donor["email"]

    at[0] += 0.5  # both starts are still within the last second
    assert donate(client, campaign, donor, amount="40").status_code == 429
    at[0] += 0.5  # they have left it
    resent = client.post(f"/campaigns/{campaign.slug}/donate/", fields)
    assert resent.status_code == 303
    assert Donation.objects.filter(amount=40).count() == 1


class DownCache:
    """A django-redis cache whose Redis does not answer: every call, its raw client's too."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise redis.exceptions.ConnectionError("Redis is down")

        return fail

    class client:  # noqa: N801 - django-redis's attribute
        @staticmethod
        def get_client(write: bool = True) -> DownCache:
            return DownCache()


def test_with_the_cache_down_each_process_keeps_its_share_and_says_so(
    settings: Any, monkeypatch: pytest.MonkeyPatch, at: list[float], caplog: Any
) -> None:
    settings.STRIPE_CHECKOUT_RATE = 20
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    monkeypatch.setattr(checkout_rate, "cache", DownCache())
    monkeypatch.setattr(checkout_rate, "_outage_logged_at", 0.0)
    with caplog.at_level(logging.WARNING, logger="donations.services.checkout_rate"):
        waits = [checkout_rate.checkout_wait_seconds() for _ in range(7)]
    assert waits == [0, 0, 0, 0, 0, 1, 1]  # 20 ÷ 4 processes = 5 a second here
    assert len(caplog.records) == 1  # logged once, not per attempt
    assert "kept by each web process alone (5 a second each)" in caplog.records[0].getMessage()
    at[0] += 0.99
    assert checkout_rate.checkout_wait_seconds() == 1
    at[0] += 0.01
    assert [checkout_rate.checkout_wait_seconds() for _ in range(6)] == [0, 0, 0, 0, 0, 1]


def test_the_sdk_retries_a_failed_call_as_configured(
    client: Client,
    campaign: Campaign,
    donor: dict[str, str],
    stripe_fake: StripeFake,
    settings: Any,
    at: Any,
) -> None:
    """STRIPE_MAX_NETWORK_RETRIES (2 by default) reaches the SDK: a 500 is retried, with the same
    idempotency key, and the donor never sees it."""
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    stripe_fake.fail_next(500)

    response = donate(client, campaign, donor)

    assert response.status_code == 303
    first, second = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    assert first["headers"]["idempotency-key"] == second["headers"]["idempotency-key"]
    assert stripe_backend.client()._requestor._options.max_network_retries == 1
