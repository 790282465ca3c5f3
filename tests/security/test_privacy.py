"""Donor privacy: emails and IP addresses never public, anonymous names never leave the admin, and
`donor_data` answers PIPEDA access and erasure requests while keeping the accounts intact."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import MoneyAction, MoneyAuditLog
from core.money import cad
from donations import selectors, services
from donations.models import Donation, DonationState, StripeEvent
from tests.security.public_urls import public_get_urls
from tests.support.factories import UpdateFactory, confirmed_donation
from tests.support.payments import completed_event, deliver, start_checkout

pytestmark = pytest.mark.django_db

IP = "203.0.113.77"


@pytest.fixture
def donors(client, campaign, stripe_fake, django_capture_on_commit_callbacks):
    UpdateFactory.create(campaign=campaign, slug="news", body="Thanks to everyone.")
    donation, session_id = start_checkout(
        client, campaign, amount="30", display_name="Visible Val", email="val.secret@example.org",
        REMOTE_ADDR=IP,
    )  # fmt: skip
    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)
    hidden = confirmed_donation(
        campaign, "45.00", display_name="Hidden Hank", anonymous=True, email="hank@example.org",
        message="Courage!",
    )  # fmt: skip
    return donation, hidden


def test_public_pages_json_and_feeds_never_show_emails_ips_or_anonymous_names(
    client, campaign, donors
):
    urls = public_get_urls(slug=campaign.slug, update_slug="news")
    assert len(urls) >= 8  # the page, progress, totals.json, supporters, embed, feed...
    seen_names = False
    for url in urls:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        body = response.content.decode("utf-8", errors="ignore")
        for secret in ("val.secret", "@example.org", "hank@", IP, "Hidden Hank"):
            assert secret not in body, (url, secret)
        seen_names = seen_names or "Visible Val" in body
    assert seen_names  # the check is not vacuous: public names do appear


def test_anonymous_names_are_kept_for_the_admin_only(admin_client, donors):
    _, hidden = donors
    page = admin_client.get(f"/admin/donations/donation/{hidden.pk}/change/").content.decode()
    assert "Hidden Hank" in page


def test_no_ip_address_is_stored_with_a_donation(donors):
    for donation in Donation.objects.all():
        assert IP not in json.dumps(
            {f.name: str(getattr(donation, f.name)) for f in Donation._meta.fields}
        )


def test_donor_data_export_lists_personal_data(donors):
    out = io.StringIO()
    call_command("donor_data", "--email", "VAL.SECRET@example.org", "--export", stdout=out)

    data = json.loads(out.getvalue())
    [gift] = data["donations"]
    assert gift["display_name"] == "Visible Val" and gift["email"] == "val.secret@example.org"
    assert gift["amount"] == "30.00" and gift["state"] == DonationState.CONFIRMED
    assert [e["type"] for e in data["stripe_events"]] == ["checkout.session.completed"]


def test_donor_data_erase_keeps_amounts_and_totals(campaign, donors):
    donation, _ = donors
    before = selectors.campaign_totals(campaign=campaign)

    out = io.StringIO()
    call_command("donor_data", "--email", "val.secret@example.org", "--erase", stdout=out)

    donation.refresh_from_db()
    assert "Erased personal data from 1 donations" in out.getvalue()
    assert (donation.display_name, donation.email, donation.message) == ("", "", "")
    assert donation.anonymous and donation.amount.amount == Decimal("30.00")
    assert donation.state == DonationState.CONFIRMED
    assert selectors.campaign_totals(campaign=campaign) == before
    event = StripeEvent.objects.get(donation=donation)
    assert "val.secret" not in json.dumps(event.payload)
    assert MoneyAuditLog.objects.filter(action=MoneyAction.DATA_ERASURE).count() == 1

    # The accounts stay exact afterwards: a refund still moves the donor count correctly.
    services.refund_record(
        donation_ref=str(donation.public_id), payment_intent_id=donation.payment_intent_id,
        charge_id="ch_after_erasure", amount_refunded=cad(Decimal("30.00")),
    )  # fmt: skip
    after = selectors.campaign_totals(campaign=campaign)
    assert after.donor_count == before.donor_count - 1
    assert after.donation_count == before.donation_count - 1


def test_donor_data_refuses_a_bad_email():
    with pytest.raises(CommandError, match="Not an email address"):
        call_command("donor_data", "--email", "nobody", "--export", stdout=io.StringIO())
