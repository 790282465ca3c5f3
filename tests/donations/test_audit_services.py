"""Money audit records are written by the services that move money, whoever calls them: the admin,
a management command or a task leave the same record, with the acting user when there is one."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import MoneyAction, MoneyAuditLog
from campaign.models import Stage, StageState
from core.money import cad
from donations import services
from donations.models import Channel, SurplusShare
from donations.services import pledges, stages, surplus
from tests.donations.test_pledges import pledge_on_fake
from tests.support.factories import StageFactory, confirmed_donation

pytestmark = pytest.mark.django_db


def _only(action: str) -> MoneyAuditLog:
    return MoneyAuditLog.objects.get(action=action)


def test_an_offline_gift_recorded_outside_the_admin_is_audited(campaign, admin_user):
    gift = services.offline_gift_record(
        campaign=campaign,
        amount=cad("40"),
        channel=Channel.CHEQUE,
        received_on=timezone.localdate(),
        reference="cheque 118",
        user=admin_user,
    )
    log = _only(MoneyAction.OFFLINE_GIFT)
    assert (log.username, log.object_id) == (admin_user.get_username(), str(gift.pk))
    assert log.detail["amount"] == "40.00"
    assert log.detail["reference"] == "cheque 118"


def test_a_refund_asked_by_a_command_is_audited_without_a_user(campaign):
    donation = confirmed_donation(campaign, "30.00")
    refund = services.refund_request(donation=donation, amount=cad("10"), reason="Asked by email")
    log = _only(MoneyAction.REFUND)
    assert log.user is None and log.username == ""
    assert log.detail == {"amount": "10.00", "reason": "Asked by email", "refund": refund.pk}


def test_resolving_a_flag_is_audited(campaign, admin_user):
    donation = confirmed_donation(campaign, "30.00")
    type(donation).objects.filter(pk=donation.pk).update(flag="Amount 31.00 does not match.")
    donation.refresh_from_db()
    services.donation_flag_resolve(donation=donation, user=admin_user)
    log = _only(MoneyAction.DONATION_EDIT)
    assert log.detail["resolved_flag"] == "Amount 31.00 does not match."
    assert log.username == admin_user.get_username()


def test_starting_and_cancelling_a_stage_are_audited(campaign, admin_user):
    stage = Stage.objects.create(
        campaign=campaign, title="Trial", estimated_hours=Decimal("8"), state=StageState.POSSIBLE
    )
    stages.stage_activate(stage_id=stage.pk, user=admin_user)
    other = Stage.objects.create(
        campaign=campaign, title="Appeal", estimated_hours=Decimal("8"), state=StageState.POSSIBLE
    )
    stages.stage_cancel(stage_id=other.pk, user=admin_user)
    logs = list(MoneyAuditLog.objects.filter(action=MoneyAction.STAGE).order_by("id"))
    assert [(log.object_id, log.detail) for log in logs] == [
        (str(stage.pk), {"activated": True, "pledged": "0.00"}),
        (str(other.pk), {"cancelled": True, "released": []}),
    ]


def test_closing_the_case_is_audited_with_who_closed_it(campaign, admin_user):
    confirmed_donation(campaign, "50.00")
    preview = surplus.surplus_preview(campaign=campaign, recovered=cad("0"))
    closure = surplus.case_close(
        campaign=campaign, recovered=cad("0"), expected_surplus=preview.surplus, user=admin_user
    )
    assert closure.closed_by == admin_user.get_username()
    log = _only(MoneyAction.CASE_CLOSURE)
    assert log.object_id == str(closure.pk)
    assert log.detail["surplus"] == str(preview.surplus.amount)


def test_each_pledge_charge_of_an_activated_stage_is_audited(
    client, campaign, admin_user, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    ok = pledge_on_fake(client, stage, stripe_fake, on_commit, amount="50", email="ok@example.ca")
    declined = pledge_on_fake(
        client, stage, stripe_fake, on_commit, amount="30", email="no@example.ca", card="declined"
    )

    with on_commit(execute=True):
        stages.stage_activate(stage_id=stage.pk, user=admin_user)

    [started] = MoneyAuditLog.objects.filter(action=MoneyAction.STAGE)
    assert started.username == admin_user.get_username()
    assert started.detail == {"activated": True, "pledged": "80.00"}
    charges = {
        log.object_id: log for log in MoneyAuditLog.objects.filter(action=MoneyAction.PLEDGE_CHARGE)
    }
    assert set(charges) == {str(ok.pk), str(declined.pk)}
    ok.refresh_from_db()
    assert charges[str(ok.pk)].detail == {
        "stage": stage.pk, "amount": "50.00", "outcome": "succeeded",
        "payment_intent": ok.payment_intent_id, "attempt": 1,
    }  # fmt: skip
    assert charges[str(declined.pk)].detail["outcome"] == "declined"
    assert charges[str(declined.pk)].detail["amount"] == "30.00"

    # A retried task that finds the charge recorded writes nothing more.
    pledges.pledge_charge(pledge_id=ok.pk)
    assert MoneyAuditLog.objects.filter(action=MoneyAction.PLEDGE_CHARGE).count() == 2


def test_each_refund_of_a_case_closure_is_audited_as_the_closures(campaign, admin_user):
    first = confirmed_donation(campaign, "60.00")
    second = confirmed_donation(campaign, "40.00")
    cheque = confirmed_donation(campaign, "100.00", channel=Channel.CHEQUE)
    preview = surplus.surplus_preview(campaign=campaign, recovered=cad("0"))
    closure = surplus.case_close(
        campaign=campaign, recovered=cad("0"), expected_surplus=preview.surplus, user=admin_user
    )
    type(first).objects.filter(pk=second.pk).update(payment_intent_id="")  # nothing to refund

    surplus.closure_refund_all(closure_id=closure.pk)

    rows = MoneyAuditLog.objects.filter(
        action=MoneyAction.CASE_CLOSURE, object_id=str(closure.pk)
    ).order_by("id")
    [closing, *shares] = rows
    assert closing.username == admin_user.get_username() and "surplus" in closing.detail
    by_donation = {log.detail["donation"]: log.detail for log in shares}
    assert set(by_donation) == {first.pk, second.pk}  # the cheque is repaid by hand, no refund
    sent = SurplusShare.objects.get(donation=first)
    assert by_donation[first.pk] == {
        "share": sent.pk, "donation": first.pk, "amount": str(sent.amount.amount),
        "outcome": "requested", "refund": sent.refund_id, "error": "",
    }  # fmt: skip
    assert by_donation[second.pk]["outcome"] == "failed"
    assert "no Stripe payment" in by_donation[second.pk]["error"]
    assert cheque.pk not in by_donation
    # The refund itself is in the log too, as every refund is.
    assert MoneyAuditLog.objects.filter(action=MoneyAction.REFUND, object_id=str(first.pk)).exists()
