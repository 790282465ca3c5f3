"""Card testing: a bot pushing many donations from one address reaches the payment service at most
DONATION_RATE_LIMIT times, then gets a 429 page saying when to try again."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from donations.models import Donation

pytestmark = pytest.mark.django_db

CHECKOUTS = "/v1/checkout/sessions"


def _attempt(client: Client, campaign, amount: str = "5", **extra: str):
    data = {"amount": amount, "display_name": "Bot", "email": "bot@example.org", **extra}
    return client.post(f"/campaigns/{campaign.slug}/donate/", data, REMOTE_ADDR="203.0.113.9")


def test_100_attempts_from_one_address_reach_stripe_at_most_5_times(
    campaign, stripe_fake, limits_on
):
    # A bot without cookies: a fresh client (no session) for every attempt.
    responses = [_attempt(Client(), campaign) for _ in range(100)]

    statuses = [r.status_code for r in responses]
    assert statuses[:5] == [303] * 5
    assert set(statuses[5:]) == {429}
    assert len(stripe_fake.requests_to("POST", CHECKOUTS)) == 5
    assert Donation.objects.count() == 5
    locked = responses[-1]
    text = locked.content.decode()
    assert "Too many attempts" in text and "Nothing was charged" in text
    assert re.search(r"try again in \d+ minutes?", text)
    assert 0 < int(locked["Retry-After"]) <= 600


def test_the_limit_follows_a_session_across_addresses(campaign, stripe_fake, limits_on):
    client = Client()
    for i in range(8):
        client.post(
            f"/campaigns/{campaign.slug}/donate/",
            {"amount": "5", "display_name": "Bot", "email": "bot@example.org"},
            REMOTE_ADDR=f"198.51.100.{i}",  # a new address every time, the same browser
        )
    assert len(stripe_fake.requests_to("POST", CHECKOUTS)) == 5


def test_other_addresses_are_not_locked_out(campaign, stripe_fake, limits_on):
    for _ in range(10):
        _attempt(Client(), campaign)
    response = Client().post(
        f"/campaigns/{campaign.slug}/donate/",
        {"amount": "25", "display_name": "Marie", "email": "m@example.ca"},
        REMOTE_ADDR="192.0.2.44",
    )
    assert response.status_code == 303


def test_invalid_attempts_do_not_use_up_a_members_allowance(campaign, stripe_fake, limits_on):
    client = Client()
    for _ in range(10):
        assert _attempt(client, campaign, amount="abc").status_code == 400
    assert _attempt(client, campaign, amount="25").status_code == 303


def test_limit_is_configurable(campaign, stripe_fake, limits_on, settings):
    settings.DONATION_RATE_LIMIT = "2/1h"
    statuses = [_attempt(Client(), campaign).status_code for _ in range(4)]
    assert statuses == [303, 303, 429, 429]


def test_honeypot_filled_creates_nothing_and_never_reaches_stripe(campaign, stripe_fake):
    response = _attempt(Client(), campaign, amount="25", website="http://spam.example")

    assert response.status_code == 400
    assert "could not be started" in response.content.decode()
    assert Donation.objects.count() == 0
    assert stripe_fake.requests_to("POST", CHECKOUTS) == []


def test_honeypot_is_hidden_from_people(client, campaign):
    html = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    hidden = re.search(r'<div class="visually-hidden" aria-hidden="true">.*?</div>', html, re.S)
    assert hidden and 'name="website"' in hidden.group(0) and 'tabindex="-1"' in hidden.group(0)


@pytest.mark.parametrize("amount", ["0.50", "1", "1.99", "0"])
def test_below_minimum_never_reaches_stripe(campaign, stripe_fake, amount):
    response = _attempt(Client(), campaign, amount=amount)
    assert response.status_code == 400
    assert stripe_fake.requests_to("POST", CHECKOUTS) == []


def test_production_rate_limit_setting_is_validated():
    import os
    import subprocess
    import sys

    env = {**os.environ, "TESTING": "1", "DONATION_RATE_LIMIT": "lots"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings';"
            "django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "DONATION_RATE_LIMIT must look like 5/10m" in result.stderr


def test_saving_cards_for_pledges_is_limited_like_donations(campaign, stripe_fake, limits_on):
    from campaign.models import Stage, StageState

    stage = Stage.objects.create(
        campaign=campaign, title="Trial", estimated_hours=40, state=StageState.POSSIBLE, position=2
    )
    url = f"/campaigns/{campaign.slug}/stages/{stage.pk}/pledge/"
    data = {"amount": "50", "email": "bot@example.org", "display_name": "Bot"}

    statuses = [Client().post(url, data, REMOTE_ADDR="203.0.113.9").status_code for _ in range(20)]

    assert statuses[:5] == [303] * 5
    assert set(statuses[5:]) == {429}
    assert len(stripe_fake.requests_to("POST", CHECKOUTS)) == 5
