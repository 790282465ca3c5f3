"""Writes for donations: start, fulfil, fail, expire, refund, and the webhook events behind them.

Every change of a donation's state and the change it makes to its campaign's totals happen in one
transaction, with the donation row locked, so concurrent webhooks and the success page can never
count a payment twice or lose one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from djmoney.money import Money

from campaign.models import CURRENCY, Campaign, cad

from . import gateway
from .models import (
    CampaignTotals,
    Channel,
    Contribution,
    Donation,
    DonationState,
    DonorTally,
    EventStatus,
    StripeEvent,
)

logger = logging.getLogger(__name__)

# States from which a paid result still confirms: a payment the member made is never lost, even when
# the donation was already marked cancelled or expired.
CONFIRMABLE = (
    DonationState.PENDING,
    DonationState.PROCESSING,
    DonationState.CANCELLED,
    DonationState.EXPIRED,
    DonationState.FAILED,
)


class DonationNotFound(Exception):
    pass


def totals_for_update(*, campaign_id: int) -> CampaignTotals:
    totals, _ = CampaignTotals.objects.get_or_create(campaign_id=campaign_id)
    return totals


def _totals_apply(*, donation: Donation, before: Contribution, after: Contribution) -> None:
    deltas = {f.name: getattr(after, f.name) - getattr(before, f.name) for f in fields(Contribution)}
    if not any(deltas.values()):
        return
    donor_delta = _donor_delta(donation=donation, change=deltas["donations"])
    totals_for_update(campaign_id=donation.campaign_id)
    updates: dict[str, Any] = {}
    for name in ("gross", "refunded", "disputed", "fees", "offline"):
        if deltas[name]:
            updates[name] = F(name) + Money(deltas[name], CURRENCY)
    if deltas["donations"]:
        updates["donation_count"] = F("donation_count") + deltas["donations"]
    if donor_delta:
        updates["donor_count"] = F("donor_count") + donor_delta
    updates["updated_at"] = timezone.now()
    CampaignTotals.objects.filter(campaign_id=donation.campaign_id).update(**updates)


def _donor_delta(*, donation: Donation, change: int) -> int:
    """How the distinct-donor count moves when this donation starts or stops counting."""
    if not change:
        return 0
    if not donation.donor_key:
        return change
    tally, _ = DonorTally.objects.get_or_create(
        campaign_id=donation.campaign_id, donor_key=donation.donor_key
    )
    tally = DonorTally.objects.select_for_update().get(pk=tally.pk)
    old = tally.counted
    tally.counted = max(old + change, 0)
    tally.save(update_fields=["counted"])
    return int(tally.counted > 0) - int(old > 0)


def _change(donation: Donation, mutate: Callable[[Donation], None]) -> Donation:
    """Apply `mutate` to a locked donation and move the campaign totals by the difference."""
    before = donation.contribution()
    was_confirmed = donation.state == DonationState.CONFIRMED
    mutate(donation)
    donation.save()
    _totals_apply(donation=donation, before=before, after=donation.contribution())
    if (
        donation.state == DonationState.CONFIRMED
        and not was_confirmed
        and donation.email
        and donation.receipt_sent_at is None
    ):
        from .tasks import send_receipt

        donation_id = donation.pk
        transaction.on_commit(lambda: send_receipt.delay(donation_id))
    return donation


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _locked(*, donation_ref: str = "", session_id: str = "", payment_intent_id: str = "") -> Donation:
    query = Donation.objects.select_for_update()
    donation = None
    if _is_uuid(donation_ref):
        donation = query.filter(public_id=donation_ref).first()
    if donation is None and session_id:
        donation = query.filter(checkout_session_id=session_id).first()
    if donation is None and payment_intent_id:
        donation = query.filter(payment_intent_id=payment_intent_id).first()
    if donation is None:
        raise DonationNotFound(
            f"No donation for ref={donation_ref!r} session={session_id!r} pi={payment_intent_id!r}"
        )
    return donation


# --- Starting a donation -----------------------------------------------------------------


def donation_start(
    *,
    campaign: Campaign,
    amount: Money,
    display_name: str = "",
    message: str = "",
    anonymous: bool = False,
    show_amount: bool = True,
    email: str = "",
    language: str = "en",
) -> Donation:
    """Record a pending donation; nothing counts until the payment is confirmed."""
    if not campaign.is_active:
        raise ValueError("This campaign no longer accepts donations.")
    return Donation.objects.create(
        campaign=campaign,
        amount=cad(amount.amount),
        display_name="" if anonymous else display_name.strip(),
        message=message.strip(),
        anonymous=anonymous,
        show_amount=show_amount,
        email=email.strip(),
        language=language,
        channel=Channel.DEMO if gateway.is_demo() else Channel.STRIPE,
    )


def checkout_begin(
    *, donation: Donation, success_url: str, cancel_url: str, locale: str = "auto"
) -> gateway.CheckoutRedirect:
    """Open the payment page for a pending donation. Raises `gateway.GatewayError`."""
    redirect = gateway.checkout_session_create(
        donation_ref=str(donation.public_id),
        campaign_slug=donation.campaign.slug,
        campaign_title=donation.campaign.title,
        amount=donation.amount,
        email=donation.email,
        success_url=success_url,
        cancel_url=cancel_url,
        locale=locale,
    )
    Donation.objects.filter(pk=donation.pk).update(checkout_session_id=redirect.session_id)
    donation.checkout_session_id = redirect.session_id
    return redirect


# --- Fulfilment --------------------------------------------------------------------------


def _mismatch(donation: Donation, result: gateway.CheckoutResult) -> str:
    if result.currency and result.currency != CURRENCY:
        return f"Currency {result.currency} does not match {CURRENCY}."
    if result.amount_total is not None and result.amount_total != donation.amount:
        return f"Amount {result.amount_total} does not match the donation's {donation.amount}."
    return ""


@transaction.atomic
def donation_fulfil(*, result: gateway.CheckoutResult) -> Donation:
    """Count a completed checkout exactly once. Called by webhooks, the success page and the demo.

    `payment_status == "paid"` confirms; a completed but unpaid checkout (bank debits and other
    delayed methods) waits in `processing` for `async_payment_succeeded`.
    """
    donation = _locked(donation_ref=result.donation_ref, session_id=result.session_id)
    mismatch = _mismatch(donation, result)
    if mismatch:
        logger.warning("Donation %s flagged: %s", donation.pk, mismatch)

        def flag(d: Donation) -> None:
            d.flag = mismatch

        return _change(donation, flag)
    if donation.state not in CONFIRMABLE:
        return donation  # already counted: a redelivery or the success page after the webhook

    def confirm(d: Donation) -> None:
        if result.session_id and not d.checkout_session_id:
            d.checkout_session_id = result.session_id
        if result.payment_intent_id:
            d.payment_intent_id = result.payment_intent_id
        if result.payment_status in ("paid", "no_payment_required"):
            d.state = DonationState.CONFIRMED
            d.confirmed_at = d.confirmed_at or timezone.now()
            if d.amount_refunded.amount >= d.amount.amount:
                d.state = DonationState.REFUNDED
        elif d.state == DonationState.PENDING:
            d.state = DonationState.PROCESSING

    return _change(donation, confirm)


@transaction.atomic
def donation_payment_failed(*, result: gateway.CheckoutResult) -> Donation:
    donation = _locked(donation_ref=result.donation_ref, session_id=result.session_id)
    if donation.state in (DonationState.PENDING, DonationState.PROCESSING):

        def fail(d: Donation) -> None:
            d.state = DonationState.FAILED

        _change(donation, fail)
    return donation


@transaction.atomic
def donation_expire(*, result: gateway.CheckoutResult) -> Donation:
    donation = _locked(donation_ref=result.donation_ref, session_id=result.session_id)
    if donation.state == DonationState.PENDING:

        def expire(d: Donation) -> None:
            d.state = DonationState.EXPIRED

        _change(donation, expire)
    return donation


@transaction.atomic
def donation_cancel(*, donation: Donation) -> Donation:
    """The member came back from the payment page without paying."""
    locked = Donation.objects.select_for_update().get(pk=donation.pk)
    if locked.state == DonationState.PENDING:

        def cancel(d: Donation) -> None:
            d.state = DonationState.CANCELLED

        _change(locked, cancel)
    return locked


@transaction.atomic
def refund_record(
    *, donation_ref: str, payment_intent_id: str, charge_id: str, amount_refunded: Money
) -> Donation:
    """Apply Stripe's cumulative refunded amount; stale or repeated events change nothing.

    Refunds only grow, so taking the largest amount seen makes the result independent of the order
    in which events arrive (a refund may even arrive before the payment's completion).
    """
    donation = _locked(donation_ref=donation_ref, payment_intent_id=payment_intent_id)
    new_refunded = min(amount_refunded.amount, donation.amount.amount)
    if new_refunded <= donation.amount_refunded.amount and (
        not charge_id or donation.charge_id == charge_id
    ):
        return donation

    def refund(d: Donation) -> None:
        if charge_id:
            d.charge_id = charge_id
        if payment_intent_id and not d.payment_intent_id:
            d.payment_intent_id = payment_intent_id
        d.amount_refunded = cad(max(new_refunded, d.amount_refunded.amount))
        if d.state == DonationState.CONFIRMED and d.amount_refunded.amount >= d.amount.amount:
            d.state = DonationState.REFUNDED

    return _change(donation, refund)


# --- Webhook events ----------------------------------------------------------------------


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
    from .tasks import process_stripe_event

    event_id = event.pk
    transaction.on_commit(lambda: process_stripe_event.delay(event_id))
    return event, True


def _session(event: StripeEvent) -> gateway.CheckoutResult:
    return gateway.checkout_result_from(event.payload["data"]["object"])


def _on_checkout_completed(event: StripeEvent) -> Donation:
    return donation_fulfil(result=_session(event))


def _on_async_failed(event: StripeEvent) -> Donation:
    return donation_payment_failed(result=_session(event))


def _on_expired(event: StripeEvent) -> Donation:
    return donation_expire(result=_session(event))


def _on_charge_refunded(event: StripeEvent) -> Donation:
    charge = event.payload["data"]["object"]
    payment_intent = charge.get("payment_intent") or ""
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id", "")
    currency = str(charge.get("currency") or "").upper()
    if currency != CURRENCY:
        raise ValueError(f"Refund in {currency}, not {CURRENCY}.")
    return refund_record(
        donation_ref=str((charge.get("metadata") or {}).get("donation", "")),
        payment_intent_id=str(payment_intent),
        charge_id=str(charge.get("id") or ""),
        amount_refunded=gateway.cents_to_money(int(charge.get("amount_refunded") or 0)),
    )


EVENT_HANDLERS: dict[str, Callable[[StripeEvent], Donation]] = {
    "checkout.session.completed": _on_checkout_completed,
    "checkout.session.async_payment_succeeded": _on_checkout_completed,
    "checkout.session.async_payment_failed": _on_async_failed,
    "checkout.session.expired": _on_expired,
    "charge.refunded": _on_charge_refunded,
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
        handler = EVENT_HANDLERS.get(event.type)
        if handler is None:
            event.status = EventStatus.IGNORED
        else:
            try:
                with transaction.atomic():
                    donation = handler(event)
            except (DonationNotFound, KeyError, ValueError, TypeError) as error:
                event.status = EventStatus.FAILED
                event.error = f"{type(error).__name__}: {error}"
                event.save(update_fields=["status", "error", "attempts"])
                return event
            event.donation = donation
            event.status = EventStatus.FLAGGED if donation.flag else EventStatus.PROCESSED
            event.error = donation.flag
        event.processed_at = timezone.now()
        event.save()
        return event


def receipt_mark_sent(*, donation_id: int, send: Callable[[Donation], None]) -> bool:
    """Send the receipt once: the row lock keeps two workers from both sending it."""
    with transaction.atomic():
        donation = Donation.objects.select_for_update().get(pk=donation_id)
        if donation.receipt_sent_at is not None or not donation.email or not donation.is_counted:
            return False
        send(donation)
        donation.receipt_sent_at = timezone.now()
        donation.save(update_fields=["receipt_sent_at"])
        return True
