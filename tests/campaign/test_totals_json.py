"""`GET /campaigns/<slug>/totals.json` for widgets and scripts."""

from __future__ import annotations

import pytest

from tests.support.factories import confirmed_donation

pytestmark = pytest.mark.django_db


def test_totals_json_fields_and_formats(client, campaign):
    confirmed_donation(campaign, "1000.00", email="a@example.org")
    confirmed_donation(campaign, "680.00", email="b@example.org")

    response = client.get(f"/campaigns/{campaign.slug}/totals.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    data = response.json()
    assert data["currency"] == "CAD"
    assert data["goal"] == "2000.00"
    assert data["community_goal"] == "1500.00"
    assert data["raised"] == "1680.00"
    assert data["remaining"] == "0.00"
    assert data["hourly_rate"] == "250.00"
    assert data["donor_count"] == 2
    assert data["percent"] == 112.0
    assert data["hours_funded"] == 6.72
    assert isinstance(data["hours_funded"], float)


def test_totals_json_of_an_empty_campaign(client, campaign):
    data = client.get(f"/campaigns/{campaign.slug}/totals.json").json()

    assert data["raised"] == "0.00"
    assert data["remaining"] == "1500.00"
    assert data["donor_count"] == 0
    assert data["percent"] == 0.0
    assert data["hours_funded"] == 0.0


def test_totals_json_moves_with_a_partial_refund(client, campaign):
    from donations import services

    donation = confirmed_donation(campaign, "100.00")
    services.refund_record(
        donation_ref=str(donation.public_id),
        payment_intent_id=donation.payment_intent_id,
        charge_id="ch_1",
        amount_refunded=donation.amount * 0 + donation.amount / 4,
    )

    data = client.get(f"/campaigns/{campaign.slug}/totals.json").json()

    assert data["raised"] == "75.00"
    assert data["remaining"] == "1425.00"
    assert data["percent"] == 5.0


def test_totals_json_of_an_unknown_campaign_is_404(client, db):
    assert client.get("/campaigns/nope/totals.json").status_code == 404


def test_totals_json_from_the_page_cache_is_the_same_answer(
    client, campaign, settings, django_capture_on_commit_callbacks
):
    """Kept serialised in the cache (front/views/campaign.py): the same body and headers as the
    JSON rendered afresh, and a counted gift shows in the next answer."""
    from front import cache as page_cache

    confirmed_donation(campaign, "25.00", email="a@example.org")
    url = f"/campaigns/{campaign.slug}/totals.json"
    fresh = client.get(url)
    settings.PAGE_CACHE = True
    page_cache.local_reset()
    cached = [client.get(url), client.get(url)]

    for response in cached:
        assert response.content == fresh.content
        for header in ("Content-Type", "Access-Control-Allow-Origin", "Cache-Control"):
            assert response[header] == fresh[header]
    with django_capture_on_commit_callbacks(execute=True):  # the invalidation, on commit
        confirmed_donation(campaign, "10.00", email="b@example.org")
    assert client.get(url).json()["raised"] == "35.00"


def test_totals_json_is_the_same_without_and_with_the_language_prefix(client, campaign):
    """Resolved before the language-prefixed patterns (config/urls.py): the address
    `campaign:totals_json` names, and the French one, give the same JSON."""
    from django.urls import resolve, reverse

    confirmed_donation(campaign, "25.00", email="a@example.org")
    url = reverse("campaign:totals_json", kwargs={"slug": campaign.slug})
    assert url == f"/campaigns/{campaign.slug}/totals.json"
    assert resolve(url).namespace == ""  # the language-free route, first
    english, french = client.get(url), client.get(f"/fr{url}")
    assert english.status_code == french.status_code == 200
    assert english.json() == french.json()
    assert english.json()["raised"] == "25.00"
    assert client.get("/campaigns/no-such-campaign/totals.json").status_code == 404
