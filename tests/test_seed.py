"""`manage.py seed_demo` creates the demo campaign once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from campaign.models import Campaign, Update
from core.money import cad

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_campaign_and_its_first_update(client):
    out = StringIO()
    call_command("seed_demo", stdout=out)

    campaign = Campaign.objects.get()
    assert campaign.slug == "legal-defense-fund"
    assert campaign.legal_cost == cad("2000.00")
    assert campaign.community_goal == cad("1500.00")
    assert campaign.hourly_rate == cad("250.00")
    assert campaign.organizer_share == cad("500.00")
    assert campaign.is_active
    assert "46,000" in campaign.story
    update = Update.objects.get()
    assert update.is_visible
    assert "Created" in out.getvalue()
    assert client.get("/").headers["Location"] == "/campaigns/legal-defense-fund/"
    assert client.get("/campaigns/legal-defense-fund/").status_code == 200


def test_seed_demo_is_idempotent():
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert Campaign.objects.count() == 1
    assert Update.objects.count() == 1
    assert "Already there" in out.getvalue()
