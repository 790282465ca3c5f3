"""The public campaign page: progress toward the community goal, the costs, supporters, the form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from core.money import cad
from tests.support.factories import CampaignFactory, UpdateFactory, confirmed_donation

pytestmark = pytest.mark.django_db


def page(client, campaign) -> str:
    response = client.get(f"/campaigns/{campaign.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def progressbar(html: str) -> dict[str, str]:
    match = re.search(r'<div class="bar" role="progressbar"(.*?)>', html, re.S)
    assert match, "no progressbar on the page"
    return dict(re.findall(r'(aria-[a-z]+)="([^"]*)"', match.group(1)))


def test_home_redirects_to_the_active_campaign(client, campaign):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.slug}/"


def test_home_without_a_campaign_says_so(client, db):
    response = client.get("/")

    assert response.status_code == 404
    assert "No campaign is running" in response.content.decode()


def test_unknown_campaign_is_404(client, db):
    assert client.get("/campaigns/nope/").status_code == 404


def test_empty_campaign_page(client, campaign):
    html = page(client, campaign)

    assert "<h1>Legal Defense Fund</h1>" in html
    assert "0% — $0.00 of $1,500.00" in html
    assert progressbar(html) == {
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": "0.0",
        "aria-valuetext": "0% — $0.00 of $1,500.00",
        "aria-labelledby": "progress-label",
    }
    assert "Be the first to give." in html
    assert (
        "$2,000 in confirmed legal fees: $1,500 asked of members, the organizer pays the rest."
        in html
    )
    assert "The lawyer bills $250 an hour." in html
    assert "At $250 an hour, $25 pays for 6 minutes of legal work." in html


def test_page_shows_progress_donors_remaining_and_hours(client, campaign):
    confirmed_donation(campaign, "50.00", email="a@example.org")
    confirmed_donation(campaign, "25.00", email="b@example.org")
    confirmed_donation(campaign, "10.00", email="a@example.org")  # same donor, counted once

    html = page(client, campaign)

    assert "5% — $85.00 of $1,500.00" in html  # 5.67%, never rounded up
    assert '<dd data-field="donor_count">2</dd>' in html
    assert '<dd data-field="remaining">$1,415.00</dd>' in html
    # $85 at $250 an hour is 20.4 minutes of legal work.
    assert '<dd data-field="hours">20 minutes</dd>' in html
    assert progressbar(html)["aria-valuenow"] == "5.6"


def test_just_short_of_the_goal_never_reads_as_reached(client, campaign):
    confirmed_donation(campaign, "1499.25")  # 99.95%

    html = page(client, campaign)

    assert "99% — $1,499.25 of $1,500.00" in html
    assert progressbar(html)["aria-valuenow"] == "99.9"
    assert "The community goal is reached." not in html


def test_bar_past_the_goal_stays_full_and_says_how_far_past(client, campaign):
    confirmed_donation(campaign, "1000.00")
    confirmed_donation(campaign, "680.00")

    html = page(client, campaign)

    assert "112% — $1,680.00 of $1,500.00" in html
    aria = progressbar(html)
    assert aria["aria-valuenow"] == "100.0"
    assert aria["aria-valuemax"] == "100"
    assert aria["aria-valuetext"] == "112% — $1,680.00 of $1,500.00"
    assert 'style="width: 100.0%"' in html
    assert '<dd data-field="remaining">$0.00</dd>' in html
    assert '<dd data-field="hours">6 hours and 43 minutes</dd>' in html
    assert "The community goal is reached." in html


def test_pending_and_refunded_gifts_do_not_show(client, campaign, donor):
    client.post(f"/campaigns/{campaign.slug}/donate/", donor)  # pending, never paid

    html = page(client, campaign)

    assert "0% — $0.00 of $1,500.00" in html
    assert "Marie-Ève" not in html


def test_recent_supporters_respect_the_donors_choices(client, campaign):
    confirmed_donation(campaign, "30.00", display_name="Julie", message="Courage!")
    confirmed_donation(campaign, "40.00", display_name="Hidden amount", show_amount=False)
    confirmed_donation(campaign, "77.00", display_name="", anonymous=True, message="Go")

    html = page(client, campaign)
    supporters = html.split('id="supporters-title"', 1)[1]

    assert "Julie" in supporters and "$30.00" in supporters and "Courage!" in supporters
    assert "Hidden amount" in supporters and "$40.00" not in supporters
    assert "Anonymous" in supporters


def test_only_the_five_latest_supporters_are_listed(client, campaign):
    for i in range(7):
        confirmed_donation(campaign, "10.00", display_name=f"Supporter{i}")

    html = page(client, campaign).split('id="supporters-title"', 1)[1]

    assert [f"Supporter{i}" in html for i in range(7)] == [False, False] + [True] * 5


def test_story_is_markdown_and_sanitised(client, db):
    campaign = CampaignFactory.create(
        story="We **fight**.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2))"
    )

    html = page(client, campaign)

    assert "<strong>fight</strong>" in html
    assert "<script>alert(1)" not in html
    assert "javascript:" not in html


def test_latest_published_update_is_shown_and_drafts_are_not(client, campaign):
    UpdateFactory.create(campaign=campaign, title="Old news", published_at=timezone.now())
    UpdateFactory.create(campaign=campaign, title="A draft", is_published=False)
    UpdateFactory.create(
        campaign=campaign, title="Future", published_at=timezone.now() + timedelta(days=1)
    )
    UpdateFactory.create(
        campaign=campaign, title="Lawyer answered", body="Sent **today**.",
        published_at=timezone.now() + timedelta(seconds=-1),
    )  # fmt: skip

    html = page(client, campaign).split('id="update-title"', 1)[1]

    assert "Lawyer answered" in html or "Old news" in html
    assert "A draft" not in html
    assert "Future" not in html


def test_form_errors_keep_the_page_and_say_what_the_amount_buys(client, campaign, donor):
    response = client.post(
        f"/campaigns/{campaign.slug}/donate/", {**donor, "amount": "50", "email": "nope"}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "At $250 an hour, $50 pays for 12 minutes of legal work." in html
    assert 'value="50"' in html


def test_progress_fragment_has_the_same_numbers(client, campaign):
    confirmed_donation(campaign, "150.00")

    response = client.get(f"/campaigns/{campaign.slug}/progress/")

    assert response.status_code == 200
    assert "10% — $150.00 of $1,500.00" in response.content.decode()


def test_money_on_the_french_page(client, campaign):
    confirmed_donation(campaign, "1680.00")

    html = client.get(f"/fr/campaigns/{campaign.slug}/").content.decode()

    assert "1\u00a0680,00\u00a0$" in html
    assert "1\u00a0500,00\u00a0$" in html


def test_goal_reached_exactly(client, campaign):
    confirmed_donation(campaign, "1500.00")

    html = page(client, campaign)

    assert "100% — $1,500.00 of $1,500.00" in html
    assert cad("1500") == cad("1500.00")
