"""Stripe's webhook events: stored once by their id, then applied once by `event_process`.

`HANDLERS` is the one list of event types the site acts on: the webhook, reconciliation and the
README's endpoint setup all read it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import jobs
from core.db import commit_without_waiting_for_disk
from donations import gateway
from donations.gateway import events
from donations.models import Donation, DonationState, EventStatus, StripeEvent
from donations.services import monthly_events, pledges
from donations.services.checkout import donation_expire, donation_fulfil, donation_payment_failed
from donations.services.disputes import DISPUTE_STATES, dispute_sync
from donations.services.ledger import DonationNotFound, donation_locked, refund_unwanted_payment
from donations.services.refunds import (
    UNDONE_STATUSES,
    charge_refund_apply,
    refund_failure_record,
)

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


@dataclass(frozen=True)
class Applied:
    """A handler's outcome when the event must be put to the organizer without flagging the
    donation (which would take it out of the totals): the event is stored `flagged` with `note`."""

    donation: Donation | None
    note: str = ""


Outcome = Donation | Applied | None

SECOND_PAYMENT_NOTE = (
    "Second payment {paid} for a donation already paid by {first}: not counted, refunded "
    "automatically."
)


def _fulfil(result: gateway.CheckoutResult) -> Outcome:
    """Count a payment once; a second payment for a donation already paid is given back."""
    if result.payment_status == "paid" and result.payment_intent_id:
        donation = donation_locked(donation_ref=result.donation_ref, session_id=result.session_id)
        first = donation.payment_intent_id
        if (
            first
            and first != result.payment_intent_id
            and donation.state in (DonationState.CONFIRMED, DonationState.REFUNDED)
        ):
            note = SECOND_PAYMENT_NOTE.format(paid=result.payment_intent_id, first=first)
            refund_unwanted_payment(
                donation=donation,
                payment_intent_id=result.payment_intent_id,
                amount=result.amount_total or donation.amount,
                reason=note,
            )
            donation.attention = note[:500]
            donation.save(update_fields=["attention"])
            return Applied(donation, note)
        return donation_fulfil(result=result, locked=donation)
    return donation_fulfil(result=result)


def _on_checkout_completed(event: StripeEvent) -> Outcome:
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
    return _fulfil(events.checkout_session(event.payload))


def _on_payment_intent_succeeded(event: StripeEvent) -> Outcome:
    payment = events.pledge_payment(event.payload)
    if payment is None:
        return None  # Checkout payments are fulfilled from their session's events
    return _fulfil(payment)


def _on_async_failed(event: StripeEvent) -> Donation | None:
    if events.is_subscription_session(event.payload):
        return None  # the gift stays pending: its subscription never started
    return donation_payment_failed(result=events.checkout_session(event.payload))


def _on_expired(event: StripeEvent) -> Donation | None:
    if events.is_subscription_session(event.payload) or events.is_card_update_session(
        event.payload
    ):
        return None  # an abandoned monthly gift or card update: nothing was counted
    if events.is_setup_session(event.payload):  # a pledge's card was never saved: no donation
        session_id, pledge_ref = events.setup_session_ref(event.payload)
        pledges.pledge_setup_expired(session_id=session_id, pledge_ref=pledge_ref)
        return None
    return donation_expire(result=events.checkout_session(event.payload))


def _on_charge_refunded(event: StripeEvent) -> Donation:
    return charge_refund_apply(refund=events.charge_refund(event.payload))


def _on_refund_updated(event: StripeEvent) -> Donation | None:
    """`charge.refund.updated`, `refund.updated`, `refund.failed`: only a refund that gave nothing
    back (failed, or canceled) changes money; a success is counted from `charge.refunded`."""
    update = events.refund_update(event.payload)
    if update.status not in UNDONE_STATUSES:
        return None
    return refund_failure_record(
        stripe_refund_id=update.refund_id,
        donation_ref=update.donation_ref,
        payment_intent_id=update.payment_intent_id,
        reason=update.failure_reason if update.status == "failed" else "canceled",
        status=update.status,
    )


def _on_dispute(event: StripeEvent) -> Outcome:
    donation = dispute_sync(dispute=events.dispute(event.payload))
    if donation.dispute_status not in DISPUTE_STATES:  # put to the organizer, not guessed
        return Applied(donation, donation.attention)
    return donation


def _on_invoice_paid(event: StripeEvent) -> Donation | None:
    return monthly_events.monthly_invoice_paid(invoice=events.invoice(event.payload))


def _on_invoice_failed(event: StripeEvent) -> None:
    monthly_events.monthly_invoice_failed(invoice=events.invoice(event.payload))


def _on_subscription_changed(event: StripeEvent) -> None:
    monthly_events.monthly_subscription_sync(subscription=events.subscription(event.payload))


def _on_subscription_deleted(event: StripeEvent) -> None:
    monthly_events.monthly_subscription_deleted(subscription=events.subscription(event.payload))


# The event types the site acts on; every other type is stored and ignored. The README's webhook
# setup lists exactly these (tests/test_readme.py), and reconciliation asks Stripe for them (at
# most 20: Stripe's limit on `types`).
HANDLERS: dict[str, Callable[[StripeEvent], Outcome]] = {
    "payment_intent.succeeded": _on_payment_intent_succeeded,
    "checkout.session.completed": _on_checkout_completed,
    "checkout.session.async_payment_succeeded": _on_checkout_completed,
    "checkout.session.async_payment_failed": _on_async_failed,
    "checkout.session.expired": _on_expired,
    "charge.refunded": _on_charge_refunded,
    "charge.refund.updated": _on_refund_updated,
    "refund.updated": _on_refund_updated,
    "refund.failed": _on_refund_updated,
    "charge.dispute.created": _on_dispute,
    "charge.dispute.updated": _on_dispute,
    "charge.dispute.funds_withdrawn": _on_dispute,
    "charge.dispute.funds_reinstated": _on_dispute,
    "charge.dispute.closed": _on_dispute,
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
        # The event itself was stored durably on receipt (the webhook's 200 waits for that). Its
        # processing need not wait for the disk: lost in a database crash, it leaves the event
        # `received`, and the sweep applies it again (`events_sweep`); a later durable commit
        # (the receipt's, the next event's) flushes it anyway, since the log is flushed in order.
        # Waiting held the campaign's counter row locked through every flush: two workers took
        # turns at the disk's pace, 15-50 events a second (docs/benchmarks.md).
        commit_without_waiting_for_disk()
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
                    outcome = handler(event)
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
            applied = outcome if isinstance(outcome, Applied) else Applied(outcome)
            donation = applied.donation
            event.donation = donation
            flag = applied.note or (donation.flag if donation is not None else "")
            event.status = EventStatus.FLAGGED if flag else EventStatus.PROCESSED
            event.error = flag
            event.traceback = ""
        event.processed_at = timezone.now()
        # Not the payload: writing it back (a few KB of JSON, encoded again) was a tenth of the
        # event's cost.
        event.save(
            update_fields=["status", "error", "traceback", "attempts", "donation", "processed_at"]
        )
        return event
