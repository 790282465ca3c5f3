"""Editing a donation in the admin never changes what counts behind the totals' back: money and
identity fields are read-only, rows cannot be deleted, an edit writes only the display fields, and
a flagged payment is counted through a service that moves the totals (and is audited)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from audit.models import MoneyAction, MoneyAuditLog
from campaign.models import Campaign
from core.money import cad
from donations import gateway, services
from donations.admin import DonationAdmin
from donations.models import CampaignTotals, Donation, DonationState, DonorTally
from tests.support.factories import confirmed_donation
from tests.support.payments import start_checkout
from tests.support.webhooks import post_event


def _change(admin_client: Any, donation: Donation, **overrides: str) -> Any:
    data = {
        "display_name": donation.display_name,
        "message": donation.message,
        "email": donation.email,
        "show_amount": "on",
        "flag": donation.flag,
        "dispute_id": donation.dispute_id,
        "refunds-TOTAL_FORMS": "0",
        "refunds-INITIAL_FORMS": "0",
        "refunds-MIN_NUM_FORMS": "0",
        "refunds-MAX_NUM_FORMS": "1000",
        **overrides,
    }
    return admin_client.post(f"/admin/donations/donation/{donation.pk}/change/", data)


def _totals(campaign: Campaign) -> CampaignTotals:
    return services.totals_for_update(campaign_id=campaign.pk)


def _mismatched(campaign: Campaign) -> Donation:
    """A $40 donation whose checkout reported $45 paid: flagged, not counted."""
    donation = confirmed_donation(campaign, "10.00")  # something else counted already
    donation = Donation.objects.create(campaign=campaign, amount=cad("40.00"), email="m@example.ca")
    services.donation_fulfil(
        result=gateway.CheckoutResult(
            session_id=f"cs_{donation.public_id}",
            payment_status="paid",
            amount_total=cad("45.00"),
            currency="CAD",
            donation_ref=str(donation.public_id),
        )
    )
    donation.refresh_from_db()
    assert donation.flag and not donation.is_counted
    return donation


def test_flag_cannot_be_set_from_the_change_form(admin_client, campaign):
    donation = confirmed_donation(campaign, "40.00")

    response = _change(admin_client, donation, flag="looks like fraud", display_name="Renamed")

    assert response.status_code == 302
    donation.refresh_from_db()
    assert donation.flag == ""
    assert donation.display_name == "Renamed"  # the display edit itself went through
    assert _totals(campaign).gross == cad("40.00")


def test_clearing_a_flag_from_the_form_does_nothing(admin_client, campaign):
    donation = _mismatched(campaign)

    _change(admin_client, donation, flag="")

    donation.refresh_from_db()
    assert donation.flag
    assert _totals(campaign).gross == cad("10.00")


def test_email_is_read_only_so_the_donor_count_stays_right(admin_client, campaign):
    confirmed_donation(campaign, "40.00", email="same@example.org")
    other = confirmed_donation(campaign, "10.00", email="other@example.org")

    _change(admin_client, other, email="same@example.org")

    other.refresh_from_db()
    assert other.email == "other@example.org"
    assert _totals(campaign).donor_count == 2
    assert DonorTally.objects.filter(campaign=campaign, counted=1).count() == 2


def test_counted_donation_cannot_be_deleted(admin_client, campaign):
    donation = confirmed_donation(campaign, "40.00")

    single = admin_client.post(f"/admin/donations/donation/{donation.pk}/delete/", {"post": "yes"})
    bulk = admin_client.post(
        "/admin/donations/donation/",
        {"action": "delete_selected", "_selected_action": [donation.pk], "post": "yes"},
    )

    assert single.status_code == 403
    assert bulk.status_code in (200, 302)
    assert Donation.objects.filter(pk=donation.pk).exists()
    assert _totals(campaign).gross == cad("40.00")


def test_edit_does_not_overwrite_a_refund_written_while_the_form_was_open(
    admin_client, campaign, monkeypatch
):
    donation = confirmed_donation(campaign, "40.00", channel="demo")
    original = DonationAdmin.get_object

    def stale_get_object(self: Any, request: Any, object_id: str, from_field: Any = None) -> Any:
        obj = original(self, request, object_id, from_field)
        # A webhook refunds the gift after the admin loaded the row, before it is saved.
        services.refund_record(
            donation_ref=str(donation.public_id),
            payment_intent_id="",
            charge_id="",
            amount_refunded=cad("40.00"),
        )
        return obj

    monkeypatch.setattr(DonationAdmin, "get_object", stale_get_object)

    _change(admin_client, donation, display_name="New name")

    donation.refresh_from_db()
    assert donation.display_name == "New name"
    assert donation.state == DonationState.REFUNDED
    assert donation.amount_refunded == cad("40.00")
    assert _totals(campaign).refunded == cad("40.00")


def test_resolving_a_flag_counts_the_amount_paid_and_is_audited(
    admin_client, admin_user, campaign, stripe_fake, client, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign, amount="40")
    session = stripe_fake.complete(session_id)
    session["amount_total"] = 4500  # Stripe says $45 was paid for a $40 donation
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, stripe_fake.event("checkout.session.completed", session))
    donation.refresh_from_db()
    assert donation.flag and _totals(campaign).gross == cad("0.00")

    response = admin_client.post(
        "/admin/donations/donation/",
        {"action": "resolve_flags", "_selected_action": [donation.pk]},
    )

    assert response.status_code == 302
    donation.refresh_from_db()
    assert donation.flag == ""
    assert donation.state == DonationState.CONFIRMED
    assert donation.amount == cad("45.00")
    totals = _totals(campaign)
    assert totals.gross == cad("45.00")
    assert totals.donation_count == 1
    assert totals.donor_count == 1
    log = MoneyAuditLog.objects.get(action=MoneyAction.DONATION_EDIT, object_id=str(donation.pk))
    assert log.user == admin_user
    assert log.detail["amount"] == "45.00"
    assert "does not match" in log.detail["resolved_flag"]


def test_resolving_a_demo_flag_counts_the_recorded_amount(campaign):
    donation = _mismatched(campaign)

    services.donation_flag_resolve(donation=donation)
    services.donation_flag_resolve(donation=donation)  # twice: counted once

    donation.refresh_from_db()
    assert donation.is_counted and donation.amount == cad("40.00")
    assert _totals(campaign).gross.amount == Decimal("50.00")
    assert _totals(campaign).donation_count == 2
