"""The demo gateway of `make run`: a local page marked "no money moves", same fulfilment."""

from __future__ import annotations

import pytest

from core.money import cad
from donations import selectors
from donations.models import Channel, Donation, DonationState

pytestmark = pytest.mark.django_db


def test_demo_flow_from_form_to_bar(client, campaign, donor, django_capture_on_commit_callbacks):
    response = client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, "amount": "50"})
    donation = Donation.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"/donations/{donation.public_id}/pay/"
    assert donation.channel == Channel.DEMO

    pay_page = client.get(response["Location"])
    html = pay_page.content.decode()
    assert pay_page.status_code == 200
    assert "Demo — no money moves." in html
    assert "Pay $50.00" in html
    assert 'value="pay"' in html and 'value="cancel"' in html

    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(response["Location"], {"action": "pay"})

    assert paid.status_code == 303
    assert paid["Location"] == f"/donations/{donation.public_id}/thanks/"
    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert "Your gift of $50.00 is confirmed." in client.get(paid["Location"]).content.decode()
    totals = selectors.campaign_totals(campaign=campaign)
    assert (totals.raised, totals.donor_count) == (cad("50.00"), 1)
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "3% — $50.00 of $1,500.00" in page
    assert client.get(f"/campaigns/{campaign.slug}/totals.json").json()["raised"] == "50.00"


def test_demo_pay_twice_counts_once(client, campaign, donor):
    client.post(f"/campaigns/{campaign.slug}/donate/", donor)
    donation = Donation.objects.get()

    for _ in range(2):
        client.post(f"/donations/{donation.public_id}/pay/", {"action": "pay"})

    totals = selectors.campaign_totals(campaign=campaign)
    assert (totals.raised, totals.donation_count) == (cad("25.00"), 1)


def test_demo_cancel_counts_nothing(client, campaign, donor):
    client.post(f"/campaigns/{campaign.slug}/donate/", donor)
    donation = Donation.objects.get()

    response = client.post(f"/donations/{donation.public_id}/pay/", {"action": "cancel"})
    cancelled = client.get(response["Location"])

    assert response["Location"] == f"/donations/{donation.public_id}/cancelled/"
    assert "Nothing was charged." in cancelled.content.decode()
    donation.refresh_from_db()
    assert donation.state == DonationState.CANCELLED
    assert selectors.campaign_totals(campaign=campaign).raised == cad(0)


def test_demo_page_is_gone_when_stripe_is_on(client, campaign, donor, stripe_fake):
    client.post(f"/campaigns/{campaign.slug}/donate/", donor)
    donation = Donation.objects.get()

    assert client.get(f"/donations/{donation.public_id}/pay/").status_code == 404
    response = client.post(f"/donations/{donation.public_id}/pay/", {"action": "pay"})
    assert response.status_code == 404
    assert selectors.campaign_totals(campaign=campaign).raised == cad(0)
