"""The organizer starts or cancels a stage; a missed all-or-nothing deadline releases its pledges.

Starting a stage charges its pledges in the background, each at most once (`pledges.pledge_charge`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import MoneyAction
from audit.services import audit_record
from campaign.models import Stage, StageState
from core import jobs
from donations.models import Donation, Pledge, PledgeState
from donations.services.pledges import PledgeError, stage_pledged_total

logger = logging.getLogger(__name__)


@transaction.atomic
def stage_activate(*, stage_id: int, user: Any = None) -> Stage:
    """Start a stage: its pledges are charged by a background fan-out."""
    stage = (
        Stage.objects.select_for_update(of=("self",)).select_related("campaign").get(pk=stage_id)
    )
    if stage.state == StageState.ACTIVE:
        return stage
    if stage.state not in (StageState.POSSIBLE, StageState.FUNDING):
        raise PledgeError(
            _("A %(state)s stage cannot be activated.") % {"state": stage.get_state_display()}
        )
    if stage.all_or_nothing:
        if stage.deadline_missed_at is not None:
            raise PledgeError(_("The pledge target was missed: the pledges have been released."))
        pledged = stage_pledged_total(stage=stage)
        if pledged.amount < stage.pledge_target.amount:
            raise PledgeError(
                _("All or nothing: %(pledged)s CAD pledged of the %(target)s CAD target.")
                % {"pledged": pledged.amount, "target": stage.pledge_target.amount}
            )
    stage.state = StageState.ACTIVE
    stage.activated_at = timezone.now()
    stage.save(update_fields=["state", "activated_at"])
    audit_record(
        user=user,
        action=MoneyAction.STAGE,
        obj=stage,
        detail={"activated": True, "pledged": stage_pledged_total(stage=stage).amount},
    )
    jobs.enqueue("donations.tasks.charge_stage_pledges", stage_id)
    return stage


def _release_open_pledges(*, stage: Stage) -> list[int]:
    """Release what was promised but not paid; returns the released ids (caller holds the lock)."""
    ids = list(
        Pledge.objects.select_for_update()
        .filter(
            stage=stage,
            state__in=(
                PledgeState.SETUP,
                PledgeState.PLEDGED,
                PledgeState.NEEDS_ACTION,
                PledgeState.FAILED,
            ),
        )
        .values_list("pk", flat=True)
    )
    Pledge.objects.filter(pk__in=ids).update(state=PledgeState.RELEASED, ended_at=timezone.now())
    # Their unpaid donations will never be paid now.
    Donation.objects.filter(pledge__pk__in=ids, state="pending").update(state="cancelled")
    for pledge_id in ids:
        jobs.enqueue("donations.tasks.release_pledge", pledge_id)
    return ids


@transaction.atomic
def stage_cancel(*, stage_id: int, user: Any = None) -> list[int]:
    """The stage will not happen (the case settled): pledges are released and their cards let go.

    Pledges already charged stay paid: that money is in the totals and the surplus rule covers it.
    A pledge caught `charging` finishes its Stripe call and the result is kept.
    """
    stage = Stage.objects.select_for_update().get(pk=stage_id)
    if stage.state in (StageState.CANCELLED, StageState.DONE):
        return []
    stage.state = StageState.CANCELLED
    stage.cancelled_at = timezone.now()
    stage.save(update_fields=["state", "cancelled_at"])
    released = _release_open_pledges(stage=stage)
    audit_record(
        user=user,
        action=MoneyAction.STAGE,
        obj=stage,
        detail={"cancelled": True, "released": released},
    )
    return released


def deadlines_check() -> list[int]:
    """All-or-nothing stages whose deadline passed short of the target: release every pledge.

    Nothing was ever charged for them; every pledger is told. A stage that reached its target
    keeps its pledges until the admin activates or cancels it.
    """
    now = timezone.now()
    released: list[int] = []
    due = Stage.objects.filter(
        all_or_nothing=True,
        state=StageState.POSSIBLE,
        pledge_deadline__lte=now,
        deadline_missed_at__isnull=True,
    ).values_list("pk", flat=True)
    for stage_id in list(due):
        with transaction.atomic():
            stage = Stage.objects.select_for_update().get(pk=stage_id)
            if stage.deadline_missed_at is not None or stage.state != StageState.POSSIBLE:
                continue
            if stage_pledged_total(stage=stage).amount >= stage.pledge_target.amount:
                continue
            stage.deadline_missed_at = now
            stage.save(update_fields=["deadline_missed_at"])
            released += _release_open_pledges(stage=stage)
    return released
