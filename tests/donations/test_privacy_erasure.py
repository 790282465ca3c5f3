"""Erasing a donor's data reaches every row with their address, required fields included: the
update subscription ends, a pledge keeps its amount but loses the address and name."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.models import MoneyAction, MoneyAuditLog
from campaign.models import Stage, StageState, Subscriber
from core.money import cad
from donations import selectors, services
from donations.models import Channel, Donation, DonationState, Pledge, PledgeState, Refund
from donations.services import privacy
from tests.donations.test_pledges import activate, pledge_on_fake
from tests.support.factories import (
    PledgeFactory,
    StageFactory,
    StripeEventFactory,
    confirmed_donation,
)

pytestmark = pytest.mark.django_db


def test_erasure_removes_the_address_from_subscriptions_and_pledges(campaign):
    confirmed_donation(campaign, "10.00", email="gone@example.org")
    Subscriber.objects.create(campaign=campaign, email="Gone@example.org", state="confirmed")
    Subscriber.objects.create(campaign=campaign, email="stays@example.org", state="confirmed")
    stage = Stage.objects.create(
        campaign=campaign, title="Trial", flat_amount=cad("1000"), state=StageState.POSSIBLE
    )
    pledge = Pledge.objects.create(
        stage=stage, amount=cad("50"), email="gone@example.org", display_name="Gone Person"
    )

    result = privacy.donor_data_erase(email="gone@example.org")

    assert result == {"donations": 1, "stripe_events": 0, "other_records": 2, "stripe_customers": 0}
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["stays@example.org"]
    pledge.refresh_from_db()
    assert (pledge.email, pledge.display_name, pledge.amount) == ("", "", cad("50.00"))
    assert privacy.donor_data_export(email="gone@example.org")["other_records"] == []


def _erase(email: str) -> str:
    out = io.StringIO()
    call_command("donor_data", "--email", email, "--erase", stdout=out)
    return out.getvalue()


def test_erasure_clears_refund_reasons_and_offline_references_but_keeps_the_money(
    campaign, admin_user
):
    gift = confirmed_donation(campaign, "40.00", email="gone@example.org")
    refund = services.refund_request(
        donation=gift, amount=cad("15"), reason="Gone Person lost her job", user=admin_user
    )
    cheque = services.offline_gift_record(
        campaign=campaign, amount=cad("100"), channel=Channel.CHEQUE,
        received_on=timezone.localdate(), email="gone@example.org", display_name="Gone Person",
        reference="Cheque #77 from Gone Person, 12 Elm St", user=admin_user,
    )  # fmt: skip
    kept = confirmed_donation(campaign, "5.00", email="stays@example.org")
    kept_refund = services.refund_request(donation=kept, amount=cad("5"), reason="Stays reason")
    before = selectors.campaign_totals(campaign=campaign)

    _erase("gone@example.org")

    refund.refresh_from_db()
    cheque.refresh_from_db()
    assert (refund.reason, refund.amount) == ("", cad("15.00"))
    assert (cheque.reference, cheque.display_name, cheque.amount) == ("", "", cad("100.00"))
    assert cheque.state == DonationState.CONFIRMED and cheque.channel == Channel.CHEQUE
    assert Refund.objects.get(pk=kept_refund.pk).reason == "Stays reason"
    assert selectors.campaign_totals(campaign=campaign) == before
    # The audit log keeps who moved how much and when, not the donor's words.
    logs = MoneyAuditLog.objects.filter(action__in=(MoneyAction.REFUND, MoneyAction.OFFLINE_GIFT))
    text = json.dumps([log.detail for log in logs])
    assert "Gone Person" not in text and "Elm St" not in text
    assert "Stays reason" in text
    assert {log.detail["amount"] for log in logs} == {"15.00", "100.00", "5.00"}


def test_erasure_scrubs_dispute_evidence_from_stored_events(campaign):
    gift = confirmed_donation(campaign, "40.00", email="gone@example.org")
    dispute = {
        "id": "dp_test_1", "object": "dispute", "amount": 4000, "status": "needs_response",
        "payment_intent": gift.payment_intent_id,
        "evidence": {
            "customer_name": "Gone Person", "customer_email_address": "gone@example.org",
            "billing_address": "12 Elm St", "customer_purchase_ip": "203.0.113.5",
            "uncategorized_text": "Gone Person called us",
        },
    }  # fmt: skip
    event = StripeEventFactory.create(
        type="charge.dispute.created", donation=gift,
        payload={"id": "evt_dp_1", "type": "charge.dispute.created", "data": {"object": dispute}},
    )  # fmt: skip

    result = privacy.donor_data_erase(email="gone@example.org")

    assert result["stripe_events"] == 1
    event.refresh_from_db()
    text = json.dumps(event.payload)
    for secret in ("Gone Person", "gone@example.org", "Elm St", "203.0.113.5"):
        assert secret not in text, secret
    assert event.payload["data"]["object"]["amount"] == 4000  # the money stays readable


def test_erasure_deletes_the_pledgers_stripe_customers(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    open_pledge = pledge_on_fake(client, stage, stripe_fake, on_commit, email="gone@example.org")
    other = pledge_on_fake(client, stage, stripe_fake, on_commit, email="stays@example.org")
    customer_id = open_pledge.customer_id
    assert customer_id in stripe_fake.customers

    output = _erase("gone@example.org")

    [deleted] = stripe_fake.requests_to("DELETE", f"/v1/customers/{customer_id}")
    assert deleted["params"] == {}  # CustomerDeleteParams takes none
    assert customer_id not in stripe_fake.customers
    assert other.customer_id in stripe_fake.customers
    open_pledge.refresh_from_db()
    # Its card went with the customer: the pledge can no longer be charged, so it ends.
    assert (open_pledge.customer_id, open_pledge.payment_method_id) == ("", "")
    assert open_pledge.state == PledgeState.CANCELLED and open_pledge.amount == cad("50.00")
    assert "1 Stripe customers" in output
    activate(stage, on_commit)
    assert stripe_fake.charge_requests_for(str(open_pledge.public_id)) == []
    assert len(stripe_fake.charge_requests_for(str(other.public_id))) == 1


def test_a_charged_pledge_keeps_its_money_when_its_customer_is_deleted(
    campaign, stripe_fake, settings
):
    stage = StageFactory.create(campaign=campaign, active=True)
    pledge = PledgeFactory.create(stage=stage, email="gone@example.org", charged=True)
    stripe_fake.customers[pledge.customer_id] = {"id": pledge.customer_id, "object": "customer"}
    before = selectors.campaign_totals(campaign=campaign)

    privacy.donor_data_erase(email="gone@example.org")

    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CHARGED and pledge.customer_id == ""
    assert pledge.donation is not None and pledge.donation.amount == cad("50.00")
    assert selectors.campaign_totals(campaign=campaign) == before
    assert stripe_fake.customers == {}


def test_stripe_down_during_erasure_is_finished_by_running_it_again(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(
        client, stage, stripe_fake, django_capture_on_commit_callbacks, email="gone@example.org"
    )
    stripe_fake.fail_next(500, times=1)

    with pytest.raises(CommandError, match="Stripe customer.*run the command again"):
        _erase("gone@example.org")

    pledge.refresh_from_db()
    assert pledge.email == "" and pledge.state == PledgeState.CANCELLED  # erased here already
    assert pledge.customer_id in stripe_fake.customers  # not yet at Stripe

    output = _erase("gone@example.org")

    assert "1 Stripe customers" in output
    assert stripe_fake.customers == {}
    assert Pledge.objects.get(pk=pledge.pk).customer_id == ""


def test_erasure_waits_while_a_pledge_is_being_charged(campaign):
    stage = StageFactory.create(campaign=campaign, active=True)
    PledgeFactory.create(stage=stage, email="gone@example.org", state=PledgeState.CHARGING)
    confirmed_donation(campaign, "10.00", email="gone@example.org", display_name="Gone Person")

    with pytest.raises(CommandError, match="being charged"):
        _erase("gone@example.org")

    assert Donation.objects.get().display_name == "Gone Person"  # nothing erased yet


def test_a_pledge_waiting_for_authentication_ends_with_its_payment_attempt(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(
        client, stage, stripe_fake, on_commit, email="gone@example.org", card="auth"
    )
    activate(stage, on_commit)
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.NEEDS_ACTION and pledge.donation is not None

    _erase("gone@example.org")

    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CANCELLED
    assert stripe_fake.intents[pledge.payment_intent_id]["status"] == "canceled"
    assert pledge.donation is not None and pledge.donation.state == DonationState.CANCELLED
    assert stripe_fake.customers == {}


def test_a_customer_stripe_no_longer_has_is_forgotten_without_an_error(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(
        client, stage, stripe_fake, django_capture_on_commit_callbacks, email="gone@example.org"
    )
    del stripe_fake.customers[pledge.customer_id]  # deleted in the dashboard, say

    assert "1 Stripe customers" in _erase("gone@example.org")

    assert Pledge.objects.get(pk=pledge.pk).customer_id == ""
    [answer] = stripe_fake.requests_to("DELETE", f"/v1/customers/{pledge.customer_id}")
    assert answer["params"] == {}
