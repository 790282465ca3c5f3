"""Stripe's webhook events: stored once by their id, then applied once by `event_process`.

`HANDLERS` is the one list of event types the site acts on: the webhook, reconciliation and the
README's endpoint setup all read it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import jobs
from donations import gateway
from donations.gateway import events
from donations.models import Donation, EventStatus, StripeEvent
from donations.services import monthly_events, pledges
from donations.services.checkout import donation_expire, donation_fulfil, donation_payment_failed
from donations.services.disputes import dispute_close, dispute_open
from donations.services.ledger import DonationNotFound
from donations.services.refunds import charge_refund_apply, refund_failure_record

logger = logging.getLogger(__name__)


def event_record(*, payload: dict[str, Any], headers: dict[str, str]) -> tuple[StripeEvent, bool]:
    """Store a verified event once; a redelivery returns the stored row and `False`."""
    stripe_id = str(payload.get("id") or "")
    if not stripe_id:
        raise ValueError("Event has no id.")
    try:
        with transaction.atomic():
            event = StripeEvent.objects.create(
                stripe_id=stripe_id,
                type=str(payload.get("type") or "")[:100],
                livemode=bool(payload.get("livemode")),
                payload=payload,
                headers=headers,
            )
    except IntegrityError:
        return StripeEvent.objects.get(stripe_id=stripe_id), False
    # With the broker down the webhook still answers 200; the periodic sweep processes the event.
    jobs.enqueue("donations.tasks.process_stripe_event", event.pk)
    return event, True


def _on_checkout_completed(event: StripeEvent) -> Donation | None:
    if events.is_card_update_session(event.payload):  # a monthly gift's new card
        monthly_events.monthly_card_updated(update=events.card_update(event.payload))
        return None
    if events.is_subscription_session(event.payload):  # a monthly gift started
        return monthly_events.monthly_checkout_complete(
            checkout=events.subscription_checkout(event.payload)
        )
    if events.is_setup_session(event.payload):  # a card saved for a pledge: nothing was paid
        session = events.event_object(event.payload)
        pledges.pledge_setup_complete(result=gateway.setup_result_from(session))
        return None
    return donation_fulfil(result=events.checkout_session(event.payload))


def _on_payment_intent_succeeded(event: StripeEvent) -> Donation | None:
    payment = events.pledge_payment(event.payload)
    if payment is None:
        return None  # Checkout payments are fulfilled from their session's events
    return donation_fulfil(result=payment)


def _on_async_failed(event: StripeEvent) -> Donation | None:
    if events.is_subscription_session(event.payload):
        return None  # the gift stays pending: its subscription never started
    return donation_payment_failed(result=events.checkout_session(event.payload))


def _on_expired(event: StripeEvent) -> Donation | None:
    if events.is_subscription_session(event.payload) or events.is_card_update_session(
        event.payload
    ):
        return None  # an abandoned monthly gift or card update: nothing was counted
    return donation_expire(result=events.checkout_session(event.payload))


def _on_charge_refunded(event: StripeEvent) -> Donation:
    return charge_refund_apply(refund=events.charge_refund(event.payload))


def _on_refund_updated(event: StripeEvent) -> Donation | None:
    """`charge.refund.updated`, `refund.updated`, `refund.failed`: only a failure changes money."""
    update = events.refund_update(event.payload)
    if update.status != "failed":
        return None
    return refund_failure_record(
        stripe_refund_id=update.refund_id,
        donation_ref=update.donation_ref,
        payment_intent_id=update.payment_intent_id,
        reason=update.failure_reason,
    )


def _on_dispute_created(event: StripeEvent) -> Donation:
    return dispute_open(dispute=events.dispute(event.payload))


def _on_dispute_closed(event: StripeEvent) -> Donation:
    return dispute_close(dispute=events.dispute(event.payload))


def _on_invoice_paid(event: StripeEvent) -> Donation | None:
    return monthly_events.monthly_invoice_paid(invoice=events.invoice(event.payload))


def _on_invoice_failed(event: StripeEvent) -> None:
    monthly_events.monthly_invoice_failed(invoice=events.invoice(event.payload))


def _on_subscription_changed(event: StripeEvent) -> None:
    monthly_events.monthly_subscription_sync(subscription=events.subscription(event.payload))


def _on_subscription_deleted(event: StripeEvent) -> None:
    monthly_events.monthly_subscription_deleted(subscription=events.subscription(event.payload))


# The event types the site acts on; every other type is stored and ignored. The README's webhook
# setup lists exactly these (tests/test_readme.py), and reconciliation asks Stripe for them.
HANDLERS: dict[str, Callable[[StripeEvent], Donation | None]] = {
    "payment_intent.succeeded": _on_payment_intent_succeeded,
    "checkout.session.completed": _on_checkout_completed,
    "checkout.session.async_payment_succeeded": _on_checkout_completed,
    "checkout.session.async_payment_failed": _on_async_failed,
    "checkout.session.expired": _on_expired,
    "charge.refunded": _on_charge_refunded,
    "charge.refund.updated": _on_refund_updated,
    "refund.updated": _on_refund_updated,
    "refund.failed": _on_refund_updated,
    "charge.dispute.created": _on_dispute_created,
    "charge.dispute.closed": _on_dispute_closed,
    # Monthly gifts: each paid invoice is one gift, whichever of the two events comes first.
    "invoice.paid": _on_invoice_paid,
    "invoice.payment_succeeded": _on_invoice_paid,
    "invoice.payment_failed": _on_invoice_failed,
    "customer.subscription.created": _on_subscription_changed,
    "customer.subscription.updated": _on_subscription_changed,
    "customer.subscription.deleted": _on_subscription_deleted,
}


def event_process(*, event_id: int) -> StripeEvent:
    """Apply one stored event exactly once; safe to call again for the same event.

    An event naming a donation we cannot find is left `failed` with the reason; the task retries it
    and the periodic sweep picks it up again.
    """
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=event_id)
        if event.status not in (EventStatus.RECEIVED, EventStatus.FAILED):
            return event
        event.attempts += 1
        handler = HANDLERS.get(event.type)
        if handler is None:
            event.status = EventStatus.IGNORED
        else:
            try:
                with transaction.atomic():
                    donation = handler(event)
            except (
                DonationNotFound,
                KeyError,
                ValueError,
                TypeError,
                gateway.GatewayError,
            ) as error:
                event.status = EventStatus.FAILED
                event.error = f"{type(error).__name__}: {error}"
                event.traceback = traceback.format_exc()
                event.save(update_fields=["status", "error", "traceback", "attempts"])
                return event
            event.donation = donation
            flag = donation.flag if donation is not None else ""
            event.status = EventStatus.FLAGGED if flag else EventStatus.PROCESSED
            event.error = flag
            event.traceback = ""
        event.processed_at = timezone.now()
        event.save()
        return event
