"""Celery tasks for updates and subscriptions: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from campaign import emails, services
from campaign.models import Subscriber, SubscriberState
from core import jobs
from core.jobs import RetryingTask
from core.locks import once_per_beat_tick

MINUTE_RETRIES = (60, 60, 60, 60, 60)


@shared_task(acks_late=True)
def update_fanout(update_id: int) -> int:
    """Queue one batch task per `UPDATE_EMAIL_BATCH_SIZE` pending deliveries of an update."""
    batches = services.update_fanout_start(
        update_id=update_id, batch_size=settings.UPDATE_EMAIL_BATCH_SIZE
    )
    for delivery_ids in batches:
        jobs.send("campaign.tasks.update_send_batch", update_id, delivery_ids)
    return len(batches)


@shared_task(bind=True, base=RetryingTask, backoff=MINUTE_RETRIES)
def update_send_batch(
    self: RetryingTask, update_id: int, delivery_ids: list[int]
) -> dict[str, int]:
    try:
        return services.deliveries_send(delivery_ids=delivery_ids, build=emails.update_message)
    except OSError as error:  # the mail server is unreachable: nothing claimed was lost
        if self.request.is_eager:
            raise
        self.retry_later(error)
        raise


@shared_task(acks_late=True)
@once_per_beat_tick
def updates_sweep() -> int:
    """Every minute: start the emails of scheduled updates whose time has come; report deliveries
    a stopped worker left half-done."""
    due = services.updates_due()
    for update_id in due:
        jobs.send("campaign.tasks.update_fanout", update_id)
    services.deliveries_expire_stale()
    return len(due)


@shared_task(bind=True, base=RetryingTask, backoff=MINUTE_RETRIES)
def send_subscription_confirmation(self: RetryingTask, subscriber_id: int) -> bool:
    subscriber = (
        Subscriber.objects.select_related("campaign")
        .filter(pk=subscriber_id, state=SubscriberState.PENDING)
        .first()
    )
    if subscriber is None:
        return False
    try:
        emails.confirmation_send(subscriber)
    except OSError as error:
        self.retry_later(error)
        return False
    return True
