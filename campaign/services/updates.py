"""Updates: editing, publishing, and emailing them to subscribers, each at most once."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta

from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from campaign.models import DeliveryStatus, Subscriber, SubscriberState, Update, UpdateDelivery
from core import jobs
from core.db import commit_without_waiting_for_disk

logger = logging.getLogger(__name__)


# A worker that stops between handing an email to the server and recording it leaves the delivery
# "sending"; after this long it is reported failed and never retried, so nobody gets it twice.
STALE_SENDING = timedelta(minutes=30)


@transaction.atomic
def update_save(*, update: Update, content_changed: bool) -> Update:
    """Save an update from the admin; a visible post whose text changes is marked edited.

    Once the update is visible (published and its time has come) its emails go out in the
    background; a scheduled post is picked up by `updates_due` when its time comes.
    """
    previous = Update.objects.filter(pk=update.pk).first() if update.pk else None
    if previous is not None and previous.is_visible and content_changed:
        update.edited_at = timezone.now()
    update.save()
    if update.is_visible and update.fanout_started_at is None:
        # The beat sweep (`updates_sweep`) starts any visible update whose fan-out never began.
        jobs.enqueue("campaign.tasks.update_fanout", update.pk)
    return update


def updates_due() -> list[int]:
    """Visible updates whose emails have not started: scheduled posts whose time has come."""
    return list(
        Update.objects.filter(
            is_published=True, published_at__lte=timezone.now(), fanout_started_at__isnull=True
        ).values_list("pk", flat=True)
    )


def update_fanout_start(*, update_id: int, batch_size: int) -> list[list[int]]:
    """Make one delivery row per confirmed subscriber and return the pending ones in batches.

    Safe to run again: the unique (update, subscriber) pair keeps one row each, and only pending
    rows are returned, so a retried fan-out never queues a sent email again.
    """
    with transaction.atomic():
        update = Update.objects.select_for_update().get(pk=update_id)
        if not update.is_visible:
            return []
        if update.fanout_started_at is None:
            update.fanout_started_at = timezone.now()
            update.save(update_fields=["fanout_started_at"])
        subscriber_ids = (
            Subscriber.objects.filter(
                campaign_id=update.campaign_id, state=SubscriberState.CONFIRMED
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        UpdateDelivery.objects.bulk_create(
            [UpdateDelivery(update_id=update.pk, subscriber_id=pk) for pk in subscriber_ids],
            batch_size=1000,
            ignore_conflicts=True,
        )
    pending = list(
        UpdateDelivery.objects.filter(update_id=update_id, status=DeliveryStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]


def _delivery_claim(*, delivery_id: int) -> bool:
    """Take one pending delivery; only one worker can win it, so it is sent at most once."""
    return bool(
        UpdateDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENDING, claimed_at=timezone.now()
        )
    )


def _delivery_finish(*, delivery_id: int, status: str, error: str = "") -> None:
    with transaction.atomic():
        # The claim before sending is durable; this mark need not wait for the disk: lost in a
        # database crash, the row stays "sending" and is never sent again (at most once holds).
        commit_without_waiting_for_disk()
        UpdateDelivery.objects.filter(pk=delivery_id).update(
            status=status,
            error=error[:2000],
            sent_at=timezone.now() if status == DeliveryStatus.SENT else None,
        )


def deliveries_send(
    *,
    delivery_ids: list[int],
    build: Callable[[UpdateDelivery], EmailMessage],
    mailer: str = "default",
) -> dict[str, int]:
    """Send a batch of update emails over one mail-server connection.

    Each delivery is claimed before it is handed to the server and marked after, so a retry (or a
    second worker) skips what is done. One refused address is marked failed and the batch goes on.
    """
    outcome = {"sent": 0, "failed": 0, "skipped": 0}
    connection = mail.mailers[mailer]
    with connection:
        for delivery_id in delivery_ids:
            if not _delivery_claim(delivery_id=delivery_id):
                outcome["skipped"] += 1
                continue
            delivery = UpdateDelivery.objects.select_related("update__campaign", "subscriber").get(
                pk=delivery_id
            )
            if delivery.subscriber.state != SubscriberState.CONFIRMED:
                _delivery_finish(
                    delivery_id=delivery_id,
                    status=DeliveryStatus.FAILED,
                    error="Not sent: unsubscribed before the email went out.",
                )
                outcome["failed"] += 1
                continue
            try:
                connection.send_messages([build(delivery)])
            except smtplib.SMTPServerDisconnected as error:
                # The server hung up: this address failed; reconnect for the rest of the batch.
                _delivery_finish(
                    delivery_id=delivery_id, status=DeliveryStatus.FAILED, error=repr(error)
                )
                outcome["failed"] += 1
                connection.close()
                connection.open()
                continue
            except (smtplib.SMTPException, OSError, ValueError) as error:
                logger.warning("Update email %s failed: %r", delivery_id, error)
                _delivery_finish(
                    delivery_id=delivery_id, status=DeliveryStatus.FAILED, error=repr(error)
                )
                outcome["failed"] += 1
                continue
            _delivery_finish(delivery_id=delivery_id, status=DeliveryStatus.SENT)
            outcome["sent"] += 1
    return outcome


def deliveries_expire_stale(*, older_than: timedelta = STALE_SENDING) -> int:
    """Report deliveries a stopped worker left half-done; they are not sent again (at most once)."""
    return UpdateDelivery.objects.filter(
        status=DeliveryStatus.SENDING, claimed_at__lt=timezone.now() - older_than
    ).update(
        status=DeliveryStatus.FAILED,
        error="Interrupted: the worker stopped while sending. Not retried, to never send twice.",
    )
