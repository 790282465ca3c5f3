"""Celery tasks: thin wrappers that take ids, call a service, and are safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from core.locks import once_per_beat_tick

from . import emails, recovery, services
from .models import EventStatus

logger = logging.getLogger(__name__)

# Short first steps: an event that outran the payment it refers to (a dispute or refund before
# the completion) usually succeeds seconds later.
RETRY_BACKOFF_SECONDS = (2, 5, 15, 60, 300, 900, 3600)


@shared_task(bind=True, acks_late=True, max_retries=len(RETRY_BACKOFF_SECONDS))
def process_stripe_event(self, event_id: int) -> str:  # type: ignore[no-untyped-def]
    event = services.event_process(event_id=event_id)
    if event.status == EventStatus.FAILED and not self.request.is_eager:
        # The donation it names may not be visible yet; the periodic sweep is the backstop.
        countdown = RETRY_BACKOFF_SECONDS[min(self.request.retries, len(RETRY_BACKOFF_SECONDS) - 1)]
        raise self.retry(countdown=countdown)
    return str(event.status)


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=60)
def send_receipt(self, donation_id: int) -> bool:  # type: ignore[no-untyped-def]
    try:
        return services.receipt_mark_sent(donation_id=donation_id, send=emails.receipt_send)
    except OSError as error:  # SMTP down: try again later, the receipt is still unsent
        if self.request.is_eager:
            return False
        raise self.retry(exc=error) from error


def event_enqueue(event_id: int) -> bool:
    """Queue an event's processing; a broker failure is logged, never raised (the sweep retries)."""
    try:
        process_stripe_event.delay(event_id)
    except Exception:  # any broker error: the event is stored, the sweep picks it up
        logger.exception("Could not enqueue Stripe event %s; the sweep will process it", event_id)
        return False
    return True


@shared_task(acks_late=True)
@once_per_beat_tick
def sweep_unprocessed_events(older_than_seconds: int = 60) -> int:
    """Process events whose task was lost (broker down at enqueue time, worker killed)."""
    return recovery.events_sweep(older_than_seconds=older_than_seconds)


@shared_task(acks_late=True)
@once_per_beat_tick
def sweep_lost_work(older_than_seconds: int = recovery.WORK_STALE_SECONDS) -> dict[str, int]:
    """Queue again receipts, refunds, surplus shares and fees whose enqueue failed."""
    return recovery.work_sweep(older_than_seconds=older_than_seconds)


@shared_task(acks_late=True)
@once_per_beat_tick
def reconcile_stripe(lookback_hours: int = 72) -> dict[str, int]:
    """Ask Stripe for what the webhooks may have missed, and expire abandoned checkouts."""
    return recovery.reconcile(lookback_seconds=lookback_hours * 3600).as_dict()


@shared_task(bind=True, acks_late=True, max_retries=len(RETRY_BACKOFF_SECONDS))
def fetch_fee(self, donation_id: int) -> bool:  # type: ignore[no-untyped-def]
    """Record Stripe's fee from the balance transaction; it may take a moment to exist."""
    from . import gateway

    try:
        donation = services.donation_fee_record(donation_id=donation_id)
    except gateway.GatewayError as error:
        logger.warning("Fee for donation %s not available yet: %s", donation_id, error)
        if self.request.is_eager:
            return False
        countdown = RETRY_BACKOFF_SECONDS[min(self.request.retries, len(RETRY_BACKOFF_SECONDS) - 1)]
        raise self.retry(countdown=countdown) from error
    if not donation.fee.amount and not self.request.is_eager:
        countdown = RETRY_BACKOFF_SECONDS[min(self.request.retries, len(RETRY_BACKOFF_SECONDS) - 1)]
        raise self.retry(countdown=countdown)
    return bool(donation.fee.amount)


@shared_task(bind=True, acks_late=True, max_retries=len(RETRY_BACKOFF_SECONDS))
def submit_refund(self, refund_id: int) -> str:  # type: ignore[no-untyped-def]
    """Send an admin's refund to Stripe with its idempotency key; retried on failure."""
    from . import gateway

    try:
        return str(services.refund_submit(refund_id=refund_id).status)
    except gateway.GatewayError as error:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            services.refund_give_up(refund_id=refund_id, error=str(error))
            return "failed"
        countdown = RETRY_BACKOFF_SECONDS[min(self.request.retries, len(RETRY_BACKOFF_SECONDS) - 1)]
        raise self.retry(countdown=countdown) from error


# Pledge and surplus tasks live in their own module; importing it registers them with the worker.
from . import pledge_tasks  # noqa: E402, F401
