"""Celery tasks: thin wrappers that take ids, call a service, and are safe to run twice.

Each retries on the schedule of its `RetryingTask` base; none retries when run eagerly (no broker),
where the periodic sweeps are the backstop, as they are for a task lost with its worker.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from campaign.models import StageState
from core import jobs
from core.jobs import RetryingTask
from core.locks import once_per_beat_tick
from donations import emails, gateway
from donations.models import ErasureRequest, EventStatus, Pledge, PledgeState
from donations.services import (
    donation_fee_record,
    event_process,
    fees,
    monthly,
    monthly_covered,
    pledges,
    receipt_mark_sent,
    recovery,
    refund_give_up,
    refund_submit,
    stages,
    surplus,
)

logger = logging.getLogger(__name__)

# Every minute or so a mail server or Stripe blip clears; the same idempotent request is repeated.
MINUTE_RETRIES = (60, 60, 60, 60, 60)
# Short first retries: a Stripe blip should not hold a stage's charges for long.
CHARGE_RETRY_SECONDS = (5, 30, 120, 600, 1800)
# A pledge `charging` for longer than this lost its task (worker killed before acks): the sweep
# runs it again, well inside Stripe's 24-hour idempotency window.
STUCK_AFTER = timedelta(minutes=10)


# --- Payments ----------------------------------------------------------------------------------


@shared_task(bind=True, base=RetryingTask)  # sent first in line: CELERY_TASK_ROUTES
def process_stripe_event(self: RetryingTask, event_id: int) -> str:
    """Short first steps: an event that outran the payment it refers to (a dispute or refund
    before the completion) usually succeeds seconds later; the periodic sweep is the backstop."""
    event = event_process(event_id=event_id)
    if event.status == EventStatus.FAILED:
        self.retry_later()
    return str(event.status)


@shared_task(bind=True, base=RetryingTask, backoff=MINUTE_RETRIES)
def send_receipt(self: RetryingTask, donation_id: int) -> bool:
    try:
        return receipt_mark_sent(donation_id=donation_id, send=emails.receipt_send)
    except OSError as error:  # SMTP down: try again later, the receipt is still unsent
        self.retry_later(error)
        return False


@shared_task(bind=True, base=RetryingTask, backoff=MINUTE_RETRIES)
def send_my_gifts_link(self: RetryingTask, email: str, language: str) -> bool:
    """Best-effort: a donor whose link did not come asks again (the page says so)."""
    try:
        return emails.my_gifts_link_send(email=email, language=language)
    except OSError as error:  # the mail server refused or was unreachable
        logger.warning("Sign-in link to a donor's page not sent: %s", error)
        self.retry_later(error)
        return False


@shared_task(bind=True, base=RetryingTask, backoff=MINUTE_RETRIES)
def send_erasure_received(self: RetryingTask, request_id: int) -> bool:
    """Best-effort: the request itself is stored and shown to the organizer either way."""
    request = ErasureRequest.objects.filter(pk=request_id).first()
    if request is None:
        return False
    try:
        return emails.erasure_received_send(request)
    except OSError as error:
        logger.warning("Erasure acknowledgement not sent: %s", error)
        self.retry_later(error)
        return False


@shared_task(acks_late=True)
def fetch_fee(donation_id: int) -> bool:
    """Record Stripe's fee from the balance transaction; it may take a moment to exist.

    Not retried by itself: an unanswered request is counted (`fees.fee_attempt_record`) and
    `work_sweep` asks again on a doubling delay, then leaves it to the organizer.
    """
    try:
        donation = donation_fee_record(donation_id=donation_id)
    except gateway.GatewayError as error:
        logger.warning("Fee for donation %s not available yet: %s", donation_id, error)
        fees.fee_attempt_record(donation_id=donation_id)
        return False
    if not donation.fee.amount:
        fees.fee_attempt_record(donation_id=donation_id)
    return bool(donation.fee.amount)


@shared_task(bind=True, base=RetryingTask)
def submit_refund(self: RetryingTask, refund_id: int) -> str:
    """Send an admin's refund to Stripe with its idempotency key; retried on failure."""
    try:
        return str(refund_submit(refund_id=refund_id).status)
    except gateway.GatewayError as error:
        if self.out_of_retries:
            refund_give_up(refund_id=refund_id, error=str(error))
            return "failed"
        self.retry_later(error)
        return "requested"


# --- Sweeps and reconciliation (beat) ------------------------------------------------------------


@shared_task(acks_late=True)
@once_per_beat_tick
def sweep_unprocessed_events(older_than_seconds: int = 60) -> int:
    """Process events whose task was lost (broker down at enqueue time, worker killed)."""
    return recovery.events_sweep(older_than_seconds=older_than_seconds)


@shared_task(acks_late=True)
@once_per_beat_tick
def sweep_lost_work(older_than_seconds: int = recovery.WORK_STALE_SECONDS) -> dict[str, int]:
    """Queue again receipts, refunds, surplus shares, fees and monthly gifts' stops and emails
    whose enqueue failed."""
    done = recovery.work_sweep(older_than_seconds=older_than_seconds)
    return {**done, **monthly_covered.monthly_work_sweep()}


@shared_task(acks_late=True)
@once_per_beat_tick
def reconcile_stripe(lookback_hours: int | None = None) -> dict[str, int]:
    """Ask Stripe for what the webhooks missed since the last successful run (72 hours back the
    first time, or `lookback_hours` at least), and expire abandoned checkouts."""
    lookback = lookback_hours * 3600 if lookback_hours else None
    return recovery.reconcile(lookback_seconds=lookback).as_dict()


# --- Pledges and the surplus -------------------------------------------------------------------


@shared_task(acks_late=True)
def charge_stage_pledges(stage_id: int) -> int:
    """Fan out one task per pledge; run again after a crash, it re-enqueues only unfinished ones."""
    ids = pledges.stage_pledges_to_charge(stage_id=stage_id)
    for pledge_id in ids:
        jobs.send("donations.tasks.charge_pledge", pledge_id)
    return len(ids)


@shared_task(bind=True, base=RetryingTask, backoff=CHARGE_RETRY_SECONDS)
def charge_pledge(self: RetryingTask, pledge_id: int) -> str:
    try:
        pledge = pledges.pledge_charge(pledge_id=pledge_id)
    except gateway.GatewayError as error:
        self.retry_later(error)
        return PledgeState.CHARGING.value  # left for the sweep
    return str(pledge.state)


@shared_task(bind=True, base=RetryingTask, backoff=MINUTE_RETRIES)
def release_pledge(self: RetryingTask, pledge_id: int, notify: bool = True) -> bool:
    """Let a released or cancelled pledge's card go, and tell the pledger (once each)."""
    try:
        pledges.pledge_detach(pledge_id=pledge_id)
    except gateway.GatewayError as error:
        self.retry_later(error)
    if notify:
        return pledges.pledge_email_once(
            pledge_id=pledge_id, kind="released", send=emails.pledge_send
        )
    return False


@shared_task(bind=True, base=RetryingTask, backoff=MINUTE_RETRIES)
def send_pledge_email(self: RetryingTask, pledge_id: int, kind: str) -> bool:
    try:
        return pledges.pledge_email_once(pledge_id=pledge_id, kind=kind, send=emails.pledge_send)
    except OSError as error:  # SMTP down: the stamp is unset, try again later
        self.retry_later(error)
        return False


@shared_task(acks_late=True)
@once_per_beat_tick
def pledges_sweep() -> dict[str, int]:
    """Periodic: missed all-or-nothing deadlines, charges whose task was lost, unreleased cards."""
    released = stages.deadlines_check()
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
        jobs.send("donations.tasks.charge_pledge", pledge_id)
    unreleased = list(
        Pledge.objects.filter(
            state__in=(PledgeState.RELEASED, PledgeState.CANCELLED), detached_at__isnull=True
        ).values_list("pk", "state")
    )
    for pledge_id, state in unreleased:
        jobs.send("donations.tasks.release_pledge", pledge_id, state == PledgeState.RELEASED)
    return {"released": len(released), "recharged": len(lost), "detached": len(unreleased)}


@shared_task(acks_late=True)
def refund_surplus(closure_id: int) -> dict[str, int]:
    """Refund every pending share of a closed case through the gateway; each outcome is kept."""
    return surplus.closure_refund_all(closure_id=closure_id)


# --- Monthly gifts -----------------------------------------------------------------------------


@shared_task(bind=True, base=RetryingTask, backoff=MINUTE_RETRIES)
def monthly_stop(self: RetryingTask, gift_id: int, reason: str) -> str:
    """Cancel a claimed gift at period end through Stripe (goal met, case closed): the claim made
    this the only task for it; the idempotency key makes a retry one request at Stripe."""
    try:
        return str(monthly.monthly_cancel(gift_id=gift_id, actor=reason).status)
    except gateway.GatewayError as error:
        self.retry_later(error)  # the sweep also finds claimed stops never requested
        return "claimed"


@shared_task(bind=True, base=RetryingTask, backoff=MINUTE_RETRIES)
def send_monthly_email(self: RetryingTask, gift_id: int, kind: str) -> bool:
    try:
        return monthly.monthly_email_once(gift_id=gift_id, kind=kind, send=emails.monthly_send)
    except OSError as error:  # SMTP down: the stamp is unset, try again later
        self.retry_later(error)
        return False


@shared_task(bind=True, base=RetryingTask, backoff=MINUTE_RETRIES)
def send_monthly_failed(self: RetryingTask, failure_id: int, invoice_url: str = "") -> bool:
    """Tell the supporter once per invoice that a renewal failed and how to update the card."""
    try:
        return monthly.monthly_failure_email_once(
            failure_id=failure_id, invoice_url=invoice_url, send=emails.monthly_failed_send
        )
    except OSError as error:
        self.retry_later(error)
        return False
