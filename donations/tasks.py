"""Celery tasks: thin wrappers that take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import emails, services
from .models import EventStatus, StripeEvent

RETRY_BACKOFF_SECONDS = (5, 15, 60, 300, 900, 3600)


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


@shared_task(acks_late=True)
def sweep_unprocessed_events(older_than_seconds: int = 60) -> int:
    """Process events whose task was lost (broker down at enqueue time, worker killed)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        StripeEvent.objects.filter(
            status__in=(EventStatus.RECEIVED, EventStatus.FAILED),
            received_at__lte=cutoff,
            attempts__lt=20,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:500]
    )
    for event_id in ids:
        services.event_process(event_id=event_id)
    return len(ids)
