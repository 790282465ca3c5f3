"""A member pledges toward a possible stage on the demo gateway, sees the pledge on the campaign
page, and cancels it from the link in the confirmation email, in a real browser."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from campaign.models import Stage, StageState
from donations.models import Pledge, PledgeState
from tests.support.browser import screenshot
from tests.support.factories import CampaignFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pledge_on_the_demo_gateway_then_cancel_from_the_email(live_server, open_page):
    campaign = CampaignFactory.create(slug="legal-defense-fund", member_count=46000)
    stage = Stage.objects.create(
        campaign=campaign,
        title="Trial preparation",
        description="If the labels sue.",
        estimated_hours=Decimal("40"),
        state=StageState.POSSIBLE,
    )
    page = open_page("desktop")
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")
    stage_item = page.locator(f"#stage-{stage.pk}")
    expect(stage_item).to_contain_text("Trial preparation")
    expect(stage_item).to_contain_text("(40 hours at $250 an hour)")

    stage_item.get_by_role("link", name="Pledge toward this stage").click()
    page.get_by_label("Amount to pledge (CAD)").fill("50")
    page.get_by_label("Email").fill("luc@example.ca")
    page.get_by_label("Name to show").fill("Luc")
    page.get_by_role("button", name="Save my card and pledge").click()

    expect(page.get_by_role("note")).to_contain_text("Demo — no money moves.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Save a card for a pledge of $50.00")
    page.get_by_role("button", name="Save card (demo)").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Your pledge of $50.00 toward “Trial preparation” is recorded."
    )
    assert Pledge.objects.get().state == PledgeState.PLEDGED

    page.get_by_role("link", name="Back to the campaign").click()
    pledged = page.locator(f"#stage-{stage.pk} [data-field=stage-pledged]")
    expect(pledged).to_have_text("$50.00 (12 minutes) — 1 pledge")
    screenshot(page, "pledge-on-campaign-page")

    [email] = mail.outbox
    link = re.search(r"http://\S+(/pledges/\S+/cancel/\?t=\S+)", str(email.body))
    assert link, email.body
    page.goto(live_server.url + link.group(1))
    page.get_by_role("button", name="Cancel my pledge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your pledge is cancelled")

    pledge = Pledge.objects.get()
    assert pledge.state == PledgeState.CANCELLED
    assert pledge.detached_at is not None
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")
    expect(pledged).to_have_text("$0.00 (0 minutes) — 0 pledges")
