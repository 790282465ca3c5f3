"""Donations in Django's admin: listed, searched, filtered by state; never edited into money."""

from __future__ import annotations

import pytest

from donations.models import Donation
from tests.support.factories import DonationFactory, confirmed_donation

pytestmark = pytest.mark.django_db


def test_donations_are_listed_searched_and_filtered(admin_client, campaign):
    paid = confirmed_donation(campaign, "42.00", display_name="Julie", email="julie@example.org")
    DonationFactory.create(campaign=campaign, display_name="Pending Pat")

    everything = admin_client.get("/admin/donations/donation/").content.decode()
    confirmed = admin_client.get("/admin/donations/donation/?state__exact=confirmed")
    searched = admin_client.get(f"/admin/donations/donation/?q={paid.payment_intent_id}")

    assert "Julie" in everything and "Pending Pat" in everything
    assert "Julie" in confirmed.content.decode()
    assert "Pending Pat" not in confirmed.content.decode()
    assert "Julie" in searched.content.decode()
    assert "Pending Pat" not in searched.content.decode()


def test_donations_cannot_be_added_by_hand(admin_client, campaign):
    assert admin_client.get("/admin/donations/donation/add/").status_code == 403


def test_amount_and_state_are_read_only(admin_client, campaign):
    donation = confirmed_donation(campaign, "42.00")

    admin_client.post(
        f"/admin/donations/donation/{donation.pk}/change/",
        {"amount_0": "9999", "amount_1": "CAD", "state": "pending", "display_name": "X"},
    )

    donation.refresh_from_db()
    assert str(donation.amount.amount) == "42.00"
    assert donation.state == "confirmed"
    assert Donation.objects.count() == 1


def test_stripe_events_are_visible_to_the_admin(admin_client, campaign):
    assert admin_client.get("/admin/donations/stripeevent/").status_code == 200
