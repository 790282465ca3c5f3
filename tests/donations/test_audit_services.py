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
from donations.models import Channel
from donations.services import stages, surplus
from tests.support.factories import confirmed_donation

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
