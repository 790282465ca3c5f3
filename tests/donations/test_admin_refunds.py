"""Refunds from the admin: a confirmation step, a reason, Stripe called by a task with an
idempotency key, and totals that move only when Stripe's webhook confirms, never twice."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import cad
from donations import gateway, selectors, services
from donations.models import Donation, DonationState, Refund, RefundStatus
from tests.support.factories import confirmed_donation
from tests.support.money_flows import charge_of, paid_gift
from tests.support.payments import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def gift(campaign, stripe_fake, django_capture_on_commit_callbacks) -> Donation:
    return paid_gift(
        Client(), campaign, stripe_fake, django_capture_on_commit_callbacks, "100", "b@example.ca"
    )


def refund_in_admin(admin_client, donation, amount, reason, capture):
    url = f"/admin/donations/donation/{donation.pk}/refund/"
    before = Refund.objects.count()
    first = admin_client.post(url, {"amount": amount, "reason": reason})
    assert first.status_code == 200
    assert "Yes, refund" in first.content.decode()
    assert Refund.objects.count() == before  # nothing is asked before the confirmation
    with capture(execute=True):
        second = admin_client.post(url, {"amount": amount, "reason": reason, "confirm": "yes"})
    assert second.status_code == 302, second.content.decode()[-2000:]
    return first


def test_partial_then_full_refund_from_the_admin(
    admin_client, campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    change = admin_client.get(f"/admin/donations/donation/{gift.pk}/change/").content.decode()
    assert f'href="/admin/donations/donation/{gift.pk}/refund/"' in change
    form = admin_client.get(f"/admin/donations/donation/{gift.pk}/refund/").content.decode()
    assert 'value="100.00"' in form  # the whole gift is offered by default

    confirm = refund_in_admin(admin_client, gift, "30", "Donor gave twice by mistake", capture)

    assert "Refund $30.00 to this donor?" in confirm.content.decode()
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.status) == (
        cad("30.00"), "Donor gave twice by mistake", RefundStatus.SUBMITTED,
    )  # fmt: skip
    [call] = stripe_fake.requests_to("POST", "/v1/refunds")
    assert call["params"]["amount"] == "3000"
    assert call["params"]["payment_intent"] == gift.payment_intent_id
    assert call["headers"]["idempotency-key"] == f"refund-{refund.public_id}"
    assert call["params"]["metadata"] == {
        "donation": str(gift.public_id), "refund": str(refund.public_id),
    }  # fmt: skip
    # Asked, not yet confirmed: the totals wait for Stripe's word.
    assert selectors.campaign_totals(campaign=campaign).refunded == cad("0.00")

    event = stripe_fake.event("charge.refunded", charge_of(stripe_fake, gift))
    deliver(Client(), event, capture)
    deliver(Client(), event, capture)  # redelivered

    t = selectors.campaign_totals(campaign=campaign)
    assert (t.refunded, t.raised, t.donation_count) == (cad("30.00"), cad("70.00"), 1)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.CONFIRMED

    refund_in_admin(admin_client, gift, "70", "Case settled for this donor", capture)
    deliver(Client(), stripe_fake.event("charge.refunded", charge_of(stripe_fake, gift)), capture)

    gift.refresh_from_db()
    assert gift.state == DonationState.REFUNDED and gift.amount_refunded == cad("100.00")
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.refunded, t.raised, t.donation_count, t.donor_count) == (
        cad("100.00"), cad("0.00"), 0, 0,
    )  # fmt: skip
    assert list(Refund.objects.values_list("status", flat=True)) == [RefundStatus.CONFIRMED] * 2
    page = admin_client.get(f"/admin/donations/donation/{gift.pk}/change/").content.decode()
    assert "Nothing left to refund." in page and "Case settled for this donor" in page


def test_a_refund_above_what_is_left_is_a_form_error(admin_client, gift):
    response = admin_client.post(
        f"/admin/donations/donation/{gift.pk}/refund/", {"amount": "100.01", "reason": "x"}
    )
    assert response.status_code == 200
    assert "Enter an amount from $0.01 to $100.00." in response.content.decode()
    garbage = admin_client.post(
        f"/admin/donations/donation/{gift.pk}/refund/", {"amount": "1e3", "reason": "x"}
    )
    assert "Enter an amount in dollars" in garbage.content.decode()
    assert Refund.objects.count() == 0


def test_a_refund_on_its_way_counts_against_what_is_left(gift):
    services.refund_request(donation=gift, amount=cad("60"), reason="first")
    with pytest.raises(services.RefundRefused):
        services.refund_request(donation=gift, amount=cad("40.01"), reason="second")
    assert services.refund_available(donation=gift) == cad("40.00")


def test_stripe_down_then_retry_with_the_same_key_refunds_once(gift, stripe_fake):
    refund = Refund.objects.create(donation=gift, amount=cad("25"), reason="r")
    stripe_fake.fail_next(500)

    with pytest.raises(gateway.GatewayError):
        services.refund_submit(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED and refund.error

    services.refund_submit(refund_id=refund.pk)
    services.refund_submit(refund_id=refund.pk)  # the task delivered twice: nothing more

    calls = stripe_fake.requests_to("POST", "/v1/refunds")
    assert [c["headers"]["idempotency-key"] for c in calls] == [f"refund-{refund.public_id}"] * 2
    assert charge_of(stripe_fake, gift)["amount_refunded"] == 2500
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUBMITTED and refund.error == ""


def test_stripe_refusing_marks_the_request_failed_and_changes_nothing(
    admin_client, campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    stripe_fake.fail_next(400, "invalid_request_error")
    refund_in_admin(admin_client, gift, "10", "test", django_capture_on_commit_callbacks)
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.FAILED and "Simulated failure" in refund.error
    assert selectors.campaign_totals(campaign=campaign).refunded == cad("0.00")
    assert services.refund_available(donation=gift) == cad("100.00")


def test_a_refund_made_in_stripes_dashboard_is_picked_up(
    campaign, gift, stripe_fake, django_capture_on_commit_callbacks
):
    charge = stripe_fake.refund(charge_of(stripe_fake, gift)["id"], 1500)
    deliver(
        Client(), stripe_fake.event("charge.refunded", charge), django_capture_on_commit_callbacks
    )
    assert selectors.campaign_totals(campaign=campaign).refunded == cad("15.00")
    assert Refund.objects.count() == 0


def test_offline_gifts_and_pending_donations_cannot_be_refunded_here(campaign):
    cheque = services.offline_gift_record(
        campaign=campaign, amount=cad("20"), channel="cheque", received_on=campaign.starts_on
    )
    with pytest.raises(services.RefundRefused, match="Offline"):
        services.refund_request(donation=cheque, amount=cad("5"), reason="x")
    pending = Donation.objects.create(campaign=campaign, amount=cad("5"))
    with pytest.raises(services.RefundRefused, match="confirmed"):
        services.refund_request(donation=pending, amount=cad("5"), reason="x")


def test_the_demo_gateway_refunds_at_once(
    admin_client, campaign, django_capture_on_commit_callbacks
):
    gift = confirmed_donation(campaign, "40.00", channel="demo")
    refund_in_admin(admin_client, gift, "15", "demo", django_capture_on_commit_callbacks)
    assert selectors.campaign_totals(campaign=campaign).refunded == cad("15.00")
    assert Refund.objects.get().status == RefundStatus.CONFIRMED


def test_refund_page_is_for_staff(client, outsider, gift):
    client.force_login(outsider)
    response = client.get(f"/admin/donations/donation/{gift.pk}/refund/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_demo_refunds_add_to_the_total_read_under_the_lock(
    campaign, monkeypatch, django_capture_on_commit_callbacks
):
    donation = confirmed_donation(campaign, "100.00", channel="demo")
    with django_capture_on_commit_callbacks(execute=False):  # the tasks have not run yet
        first = services.refund_request(donation=donation, amount=cad("20"), reason="one")
        second = services.refund_request(donation=donation, amount=cad("30"), reason="two")
    original_save = Refund.save

    def save_then_other_task_runs(self, *args, **kwargs):
        original_save(self, *args, **kwargs)
        if self.pk == first.pk and kwargs.get("update_fields") == ["attempts"]:
            # The second refund's task completes while the first holds a copy of the donation.
            services.refund_submit(refund_id=second.pk)

    monkeypatch.setattr(Refund, "save", save_then_other_task_runs)

    services.refund_submit(refund_id=first.pk)
    services.refund_submit(refund_id=first.pk)  # run twice: added once

    donation.refresh_from_db()
    assert donation.amount_refunded == cad("50.00")
    assert selectors.campaign_totals(campaign=campaign).raised == cad("50.00")
    assert set(Refund.objects.values_list("status", flat=True)) == {RefundStatus.CONFIRMED}
