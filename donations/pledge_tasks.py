"""Celery tasks for pledges and the surplus: take ids, call a service, safe to run twice.

Registered with the worker through `donations.tasks`, which imports this module.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from campaign.models import StageState
from core.locks import once_per_beat_tick

from . import gateway, pledge_emails, pledges, surplus
from .models import Pledge, PledgeState

# Short first retries: a Stripe blip should not hold a stage's charges for long. Every retry
# repeats the same idempotent request.
CHARGE_RETRY_SECONDS = (5, 30, 120, 600, 1800)
# A pledge `charging` for longer than this lost its task (worker killed before acks): the sweep
# runs it again, well inside Stripe's 24-hour idempotency window.
STUCK_AFTER = timedelta(minutes=10)


@shared_task(acks_late=True)
def charge_stage_pledges(stage_id: int) -> int:
    """Fan out one task per pledge; run again after a crash, it re-enqueues only unfinished ones."""
    ids = pledges.stage_pledges_to_charge(stage_id=stage_id)
    for pledge_id in ids:
        charge_pledge.delay(pledge_id)
    return len(ids)


@shared_task(bind=True, acks_late=True, max_retries=len(CHARGE_RETRY_SECONDS))
def charge_pledge(self, pledge_id: int) -> str:  # type: ignore[no-untyped-def]
    try:
        pledge = pledges.pledge_charge(pledge_id=pledge_id)
    except gateway.GatewayError as error:
        if self.request.is_eager:
            return PledgeState.CHARGING.value  # left for the sweep
        countdown = CHARGE_RETRY_SECONDS[min(self.request.retries, len(CHARGE_RETRY_SECONDS) - 1)]
        raise self.retry(exc=error, countdown=countdown) from error
    return str(pledge.state)


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=60)
def release_pledge(self, pledge_id: int, notify: bool = True) -> bool:  # type: ignore[no-untyped-def]
    """Let a released or cancelled pledge's card go, and tell the pledger (once each)."""
    try:
        pledges.pledge_detach(pledge_id=pledge_id)
    except gateway.GatewayError as error:
        if not self.request.is_eager:
            raise self.retry(exc=error) from error
    if notify:
        return pledges.pledge_email_once(
            pledge_id=pledge_id, kind="released", send=pledge_emails.pledge_send
        )
    return False


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=60)
def send_pledge_email(self, pledge_id: int, kind: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        return pledges.pledge_email_once(
            pledge_id=pledge_id, kind=kind, send=pledge_emails.pledge_send
        )
    except OSError as error:  # SMTP down: the stamp is unset, try again later
        if self.request.is_eager:
            return False
        raise self.retry(exc=error) from error


@shared_task(acks_late=True)
@once_per_beat_tick
def pledges_sweep() -> dict[str, int]:
    """Periodic: missed all-or-nothing deadlines, charges whose task was lost, unreleased cards."""
    released = pledges.deadlines_check()
    stuck_before = timezone.now() - STUCK_AFTER
    lost = list(
        # The fan-out died before enqueueing these.
        Pledge.objects.filter(
            stage__state=StageState.ACTIVE, state=PledgeState.PLEDGED
        ).values_list("pk", flat=True)
    ) + list(
        Pledge.objects.filter(
            state=PledgeState.CHARGING, charge_started_at__lte=stuck_before
        ).values_list("pk", flat=True)
    )
    for pledge_id in lost:
        charge_pledge.delay(pledge_id)
    unreleased = list(
        Pledge.objects.filter(
            state__in=(PledgeState.RELEASED, PledgeState.CANCELLED), detached_at__isnull=True
        ).values_list("pk", "state")
    )
    for pledge_id, state in unreleased:
        release_pledge.delay(pledge_id, state == PledgeState.RELEASED)
    return {"released": len(released), "recharged": len(lost), "detached": len(unreleased)}


@shared_task(acks_late=True)
def refund_surplus(closure_id: int) -> dict[str, int]:
    """Refund every pending share of a closed case through the gateway; each outcome is kept."""
    return surplus.closure_refund_all(closure_id=closure_id)
