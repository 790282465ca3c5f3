"""The campaign in Django's admin: its fields and its totals."""

from __future__ import annotations

import pytest

from donations import services
from tests.support.factories import confirmed_donation

pytestmark = pytest.mark.django_db


def test_campaign_change_page_shows_the_totals(admin_client, campaign):
    donation = confirmed_donation(campaign, "100.00", email="a@example.org")
    confirmed_donation(campaign, "1580.00", email="b@example.org")
    services.refund_record(
        donation_ref=str(donation.public_id),
        payment_intent_id="",
        charge_id="ch_1",
        amount_refunded=donation.amount / 4,
    )

    response = admin_client.get(f"/admin/campaign/campaign/{campaign.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<tr><th>Gross received</th><td>$1,680.00</td></tr>" in html
    assert "<tr><th>Refunded</th><td>$25.00</td></tr>" in html
    assert "<tr><th>Donors</th><td>2</td></tr>" in html
    # $1,655 at $250 an hour: 6 hours and 37 minutes.
    assert "<tr><th>Lawyer time funded</th><td>6 hours and 37 minutes</td></tr>" in html
    for field in ("title", "slug", "story", "legal_cost_0", "community_goal_0", "hourly_rate_0"):
        assert f'name="{field}"' in html
    assert 'name="starts_on"' in html and 'name="is_active"' in html


def test_new_campaign_form_has_no_totals_yet(admin_client):
    response = admin_client.get("/admin/campaign/campaign/add/")

    assert response.status_code == 200


def test_outsider_cannot_open_the_admin(client, outsider, campaign):
    client.force_login(outsider)

    response = client.get(f"/admin/campaign/campaign/{campaign.pk}/change/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
