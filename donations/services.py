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
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from djmoney.money import Money

from campaign import services as campaign_services
from campaign.models import CURRENCY, Campaign, cad
from config.db import commit_without_waiting_for_disk

from . import fees, gateway
from .models import (
    ONLINE_CHANNELS,
    AmountTally,
    CampaignTotals,
    CaseClosure,
    Channel,
    Contribution,
    DailyRollup,
    DisputeState,
    Donation,
    DonationState,
    DonorTally,
    EventStatus,
    Refund,
    RefundStatus,
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
    deltas = {
        f.name: getattr(after, f.name) - getattr(before, f.name) for f in fields(Contribution)
    }
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
    _rollups_apply(donation=donation, before=before, after=after, deltas=deltas)


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
    if donation.is_counted and before == Contribution():
        from .pledges import pledge_mark_paid  # pledges builds on this module

        pledge_mark_paid(donation_id=donation.pk)
    after = donation.contribution()
    _totals_apply(donation=donation, before=before, after=after)
    if (
        donation.channel == Channel.STRIPE
        and after.gross > before.gross
        and not donation.fee.amount
        and donation.payment_intent_id
        and not gateway.is_demo()
    ):
        from .tasks import fetch_fee

        fee_donation_id = donation.pk
        # robust: not knowing Stripe's fee yet must never undo or hide a payment.
        transaction.on_commit(lambda: fetch_fee.delay(fee_donation_id), robust=True)
    if after.gross > before.gross:
        campaign_id = donation.campaign_id
        # robust: a milestone draft that cannot be written must never undo or hide a payment.
        transaction.on_commit(lambda: milestones_check(campaign_id=campaign_id), robust=True)
    if (
        donation.state == DonationState.CONFIRMED
        and not was_confirmed
        and donation.email
        and donation.receipt_sent_at is None
    ):
        from .tasks import send_receipt

        donation_id = donation.pk
        # robust: with the broker down the payment still counts; `work_sweep` sends it later.
        transaction.on_commit(lambda: send_receipt.delay(donation_id), robust=True)
    return donation


def milestones_check(*, campaign_id: int) -> list[int]:
    """Prepare a draft update for each milestone the campaign's total has now crossed."""
    from .selectors import campaign_totals

    campaign = Campaign.objects.get(pk=campaign_id)
    totals = campaign_totals(campaign=campaign)
    return campaign_services.milestone_drafts_prepare(campaign=campaign, percent=totals.percent)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _locked(
    *, donation_ref: str = "", session_id: str = "", payment_intent_id: str = ""
) -> Donation:
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
    cover_fees: bool = False,
) -> Donation:
    """Record a pending donation; nothing counts until the payment is confirmed.

    With `cover_fees`, the amount charged (and stored) is the gift grossed up by Stripe's fee, and
    `fee_covered` keeps the part added, so the campaign nets exactly the gift chosen.
    """
    if not campaign.is_active:
        raise ValueError("This campaign no longer accepts donations.")
    gift = cad(amount.amount)
    charged = fees.gross_up(gift=gift) if cover_fees else gift
    return Donation.objects.create(
        campaign=campaign,
        amount=charged,
        covers_fees=cover_fees,
        fee_covered=cad(charged.amount - gift.amount),
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
        campaign_title=donation.campaign.title_local,
        amount=donation.amount,
        email=donation.email,
        success_url=success_url,
        cancel_url=cancel_url,
        locale=locale,
    )
    with transaction.atomic():
        # Losing this write in a database crash costs nothing: fulfilment finds the donation by its
        # own id (the session's client_reference_id), reconciliation by the session's metadata. Not
        # waiting for the disk halves the flushes a donation start waits for in a rush.
        commit_without_waiting_for_disk()
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


class FlagNotResolvable(ValueError):
    """The flagged payment cannot be counted as it is; the message says why, for the admin."""


def _flagged_payment(donation: Donation) -> gateway.CheckoutResult | None:
    """The payment behind the flag, as the flagged webhook event reported it (none in the demo)."""
    event = (
        StripeEvent.objects.filter(donation=donation, status=EventStatus.FLAGGED)
        .order_by("-received_at", "-pk")
        .first()
    )
    if event is None:
        return None
    return gateway.checkout_result_from(event.payload["data"]["object"])


@transaction.atomic
def donation_flag_resolve(*, donation: Donation) -> Donation:
    """The admin accepts a flagged payment as received: it counts, at the amount actually paid.

    A flag is the only thing keeping a paid donation out of the totals, so clearing it goes
    through `_change` like any other state change. Raises `FlagNotResolvable`.
    """
    locked = Donation.objects.select_for_update().get(pk=donation.pk)
    if not locked.flag:
        return locked
    paid = _flagged_payment(locked)
    if paid is not None and paid.currency and paid.currency != CURRENCY:
        raise FlagNotResolvable(
            gettext("Paid in %(currency)s: refund it instead.") % {"currency": paid.currency}
        )

    def resolve(d: Donation) -> None:
        d.flag = ""
        if paid is not None and paid.amount_total is not None:
            d.amount = cad(paid.amount_total.amount)
        if paid is not None and paid.payment_intent_id and not d.payment_intent_id:
            d.payment_intent_id = paid.payment_intent_id
        if d.state in CONFIRMABLE:
            d.state = DonationState.CONFIRMED
            d.confirmed_at = d.confirmed_at or timezone.now()

    return _change(locked, resolve)


@transaction.atomic
def refund_record(
    *,
    donation_ref: str,
    payment_intent_id: str,
    charge_id: str,
    amount_refunded: Money,
    added: bool = False,
) -> Donation:
    """Apply Stripe's cumulative refunded amount; stale or repeated events change nothing.

    Refunds only grow, so taking the largest amount seen makes the result independent of the order
    in which events arrive (a refund may even arrive before the payment's completion).
    With `added` (the demo gateway's refunds), `amount_refunded` is one refund's amount, added to
    the total read under the row lock, never to a copy read earlier.
    """
    donation = _locked(donation_ref=donation_ref, payment_intent_id=payment_intent_id)
    if added:
        amount_refunded = cad(donation.amount_refunded.amount + amount_refunded.amount)
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
    from .tasks import event_enqueue

    event_id = event.pk
    # event_enqueue never raises: with the broker down the webhook still answers 200, and the
    # periodic sweep processes the stored event.
    transaction.on_commit(lambda: event_enqueue(event_id))
    return event, True


def _session(event: StripeEvent) -> gateway.CheckoutResult:
    return gateway.checkout_result_from(event.payload["data"]["object"])


def _on_checkout_completed(event: StripeEvent) -> Donation | None:
    session = event.payload["data"]["object"]
    if session.get("mode") == "setup":  # a card saved for a pledge: nothing was paid
        from .pledges import pledge_setup_complete

        pledge_setup_complete(result=gateway.setup_result_from(session))
        return None
    return donation_fulfil(result=_session(event))


def _on_payment_intent_succeeded(event: StripeEvent) -> Donation | None:
    intent = event.payload["data"]["object"]
    if not (intent.get("metadata") or {}).get("pledge"):
        return None  # Checkout payments are fulfilled from their session's events
    return donation_fulfil(result=gateway.payment_intent_result(intent=intent))


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
    amount_refunded = gateway.cents_to_money(int(charge.get("amount_refunded") or 0))
    if payment_intent and (
        Refund.objects.filter(
            donation__payment_intent_id=payment_intent, status=RefundStatus.FAILED
        )
        .exclude(stripe_refund_id="")
        .exists()
    ):
        # A refund of this payment failed after Stripe took it: this event's snapshot may predate
        # the failure, so ask Stripe for the charge's figure now. Raises `GatewayError` (retried).
        amount_refunded = gateway.charge_refunded_amount(payment_intent_id=str(payment_intent))
    donation = refund_record(
        donation_ref=str((charge.get("metadata") or {}).get("donation", "")),
        payment_intent_id=str(payment_intent),
        charge_id=str(charge.get("id") or ""),
        amount_refunded=amount_refunded,
    )
    _refunds_settle(donation=donation)
    return donation


def _stripe_id(value: Any) -> str:
    return str(value.get("id", "") if isinstance(value, dict) else value or "")


@transaction.atomic
def refund_failure_record(
    *, stripe_refund_id: str, donation_ref: str, payment_intent_id: str, reason: str
) -> Donation:
    """A refund failed after Stripe accepted it (a closed card account): the money stayed.

    The refund is marked failed, and the refunded amount becomes the charge's figure at Stripe
    now (which no longer includes it); the only path where the refunded amount may go down, and
    it goes through `_change` so the totals move with it. Safe to run twice.
    Raises `gateway.GatewayError` when Stripe cannot be asked (the event is retried).
    """
    donation = _locked(donation_ref=donation_ref, payment_intent_id=payment_intent_id)
    if stripe_refund_id:
        Refund.objects.filter(stripe_refund_id=stripe_refund_id).exclude(
            status=RefundStatus.FAILED
        ).update(status=RefundStatus.FAILED, error=f"Stripe: {reason}"[:2000])
    if donation.channel != Channel.STRIPE or not donation.payment_intent_id:
        return donation
    stripe_figure = gateway.charge_refunded_amount(payment_intent_id=donation.payment_intent_id)
    refunded = cad(min(stripe_figure.amount, donation.amount.amount))
    if refunded == donation.amount_refunded:
        return donation

    def reverse(d: Donation) -> None:
        d.amount_refunded = refunded
        if d.state == DonationState.REFUNDED and refunded.amount < d.amount.amount:
            d.state = DonationState.CONFIRMED
        elif d.state == DonationState.CONFIRMED and refunded.amount >= d.amount.amount:
            d.state = DonationState.REFUNDED

    return _change(donation, reverse)


def _on_refund_updated(event: StripeEvent) -> Donation | None:
    """`charge.refund.updated`, `refund.updated`, `refund.failed`: only a failure changes money."""
    refund = event.payload["data"]["object"]
    if str(refund.get("status") or "") != "failed":
        return None
    return refund_failure_record(
        stripe_refund_id=str(refund.get("id") or ""),
        donation_ref=str((refund.get("metadata") or {}).get("donation", "")),
        payment_intent_id=_stripe_id(refund.get("payment_intent")),
        reason=str(refund.get("failure_reason") or "failed"),
    )


EVENT_HANDLERS: dict[str, Callable[[StripeEvent], Donation | None]] = {
    "payment_intent.succeeded": _on_payment_intent_succeeded,
    "checkout.session.completed": _on_checkout_completed,
    "checkout.session.async_payment_succeeded": _on_checkout_completed,
    "checkout.session.async_payment_failed": _on_async_failed,
    "checkout.session.expired": _on_expired,
    "charge.refunded": _on_charge_refunded,
    "charge.refund.updated": _on_refund_updated,
    "refund.updated": _on_refund_updated,
    "refund.failed": _on_refund_updated,
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
            except (
                DonationNotFound,
                KeyError,
                ValueError,
                TypeError,
                gateway.GatewayError,
            ) as error:
                event.status = EventStatus.FAILED
                event.error = f"{type(error).__name__}: {error}"
                event.save(update_fields=["status", "error", "attempts"])
                return event
            event.donation = donation
            flag = donation.flag if donation is not None else ""
            event.status = EventStatus.FLAGGED if flag else EventStatus.PROCESSED
            event.error = flag
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


# --- Daily rollup and amount tally (dashboard and chart at any scale) ------------------------


def _rollup_day(*, donation: Donation, gross_changed: bool) -> date:
    """A gift counts on the day it was received (an offline cheque keeps its own date); refunds,
    disputes and fees count on the day they happen."""
    if gross_changed and donation.confirmed_at is not None:
        return timezone.localdate(donation.confirmed_at)
    return timezone.localdate()


def _rollups_apply(
    *, donation: Donation, before: Contribution, after: Contribution, deltas: dict[str, Any]
) -> None:
    """Move the day's rollup and the per-amount tally in the same transaction as the totals."""
    day = _rollup_day(donation=donation, gross_changed=bool(deltas["gross"]))
    DailyRollup.objects.get_or_create(campaign_id=donation.campaign_id, day=day)
    # Plain decimals: the rollup's manager is Django's own (django-money's wrapper is not needed).
    updates: dict[str, Any] = {
        name: F(name) + Decimal(deltas[name])
        for name in ("gross", "refunded", "disputed", "fees", "offline")
        if deltas[name]
    }
    if deltas["donations"]:
        updates["donation_count"] = F("donation_count") + deltas["donations"]
    if updates:
        DailyRollup.objects.filter(campaign_id=donation.campaign_id, day=day).update(**updates)
    kept_before = before.gross - before.refunded if before.donations else None
    kept_after = after.gross - after.refunded if after.donations else None
    if kept_before != kept_after:
        if kept_before is not None:
            _tally_move(campaign_id=donation.campaign_id, amount=kept_before, change=-1)
        if kept_after is not None:
            _tally_move(campaign_id=donation.campaign_id, amount=kept_after, change=1)


def _tally_move(*, campaign_id: int, amount: Decimal, change: int) -> None:
    AmountTally.objects.get_or_create(campaign_id=campaign_id, amount=amount)
    AmountTally.objects.filter(campaign_id=campaign_id, amount=amount).update(
        count=F("count") + change
    )


# --- Stripe's fee, from the balance transaction ---------------------------------------------


@transaction.atomic
def donation_fee_record(*, donation_id: int) -> Donation:
    """Ask Stripe for the charge's balance transaction and record its fee once.

    Raises `gateway.GatewayError`; returns the donation unchanged when Stripe has no balance
    transaction yet (the task tries again later).
    """
    donation = Donation.objects.select_for_update().get(pk=donation_id)
    if (
        donation.channel != Channel.STRIPE
        or donation.fee.amount
        or not donation.payment_intent_id
        or gateway.is_demo()
    ):
        return donation
    charge = gateway.payment_charge_fee(payment_intent_id=donation.payment_intent_id)
    if charge.fee is None:
        return donation

    def record(d: Donation) -> None:
        d.fee = charge.fee
        if charge.charge_id and not d.charge_id:
            d.charge_id = charge.charge_id

    return _change(donation, record)


# --- Offline gifts -----------------------------------------------------------------------

OFFLINE_CHANNELS = (Channel.CHEQUE, Channel.CASH, Channel.INTERAC)
# How long before the campaign's start a cheque may be dated (pledged early, cashed late).
OFFLINE_EARLIEST = timedelta(days=365)


class OfflineGiftRefused(ValueError):
    """The gift cannot be recorded as entered; the message says why, for the admin."""


def offline_gift_check(*, campaign: Campaign, received_on: date) -> None:
    """Refuse a date in the future or long before the campaign, and any gift once it is closed
    (the closing accounts and the surplus split are final). Raises `OfflineGiftRefused`."""
    if CaseClosure.objects.filter(campaign=campaign).exists():
        raise OfflineGiftRefused(
            gettext("This case is closed: its accounts are final, no gift can be added.")
        )
    today = timezone.localdate()
    earliest = campaign.starts_on - OFFLINE_EARLIEST
    if not earliest <= received_on <= today:
        raise OfflineGiftRefused(
            gettext("The date must be between %(earliest)s and today (%(today)s).")
            % {"earliest": earliest.isoformat(), "today": today.isoformat()}
        )


@transaction.atomic
def offline_gift_record(
    *,
    campaign: Campaign,
    amount: Money,
    channel: str,
    received_on: date,
    display_name: str = "",
    email: str = "",
    anonymous: bool = False,
    show_amount: bool = True,
    message: str = "",
    reference: str = "",
    language: str = "en",
) -> Donation:
    """A cheque, cash or e-Transfer gift: it counts at once, on the day it was received."""
    if channel not in OFFLINE_CHANNELS:
        raise ValueError(f"{channel!r} is not an offline channel.")
    if amount.amount <= 0:
        raise ValueError("An offline gift must be more than zero.")
    offline_gift_check(campaign=campaign, received_on=received_on)
    received_at = timezone.make_aware(datetime.combine(received_on, time(12)))
    donation = Donation.objects.create(
        campaign=campaign,
        amount=cad(amount.amount),
        channel=channel,
        display_name="" if anonymous else display_name.strip(),
        email=email.strip(),
        anonymous=anonymous,
        show_amount=show_amount,
        message=message.strip(),
        reference=reference.strip(),
        language=language,
    )
    donation = Donation.objects.select_for_update().get(pk=donation.pk)

    def receive(d: Donation) -> None:
        d.state = DonationState.CONFIRMED
        d.confirmed_at = received_at

    return _change(donation, receive)


# --- Refunds asked from the admin -------------------------------------------------------------


class RefundRefused(ValueError):
    """The refund cannot be asked for; the message says why, for the admin."""


def refund_available(*, donation: Donation) -> Money:
    """What can still be refunded: the gift, less refunds done and refunds on their way."""
    on_the_way = sum(
        (
            r.amount.amount
            for r in donation.refunds.filter(
                status__in=(RefundStatus.REQUESTED, RefundStatus.SUBMITTED)
            )
        ),
        Decimal("0"),
    )
    return cad(max(donation.amount.amount - donation.amount_refunded.amount - on_the_way, 0))


@transaction.atomic
def refund_request(*, donation: Donation, amount: Money, reason: str, user: Any = None) -> Refund:
    """Ask for a refund. Stripe is called by a task; totals move when Stripe's webhook confirms."""
    locked = Donation.objects.select_for_update().get(pk=donation.pk)
    if locked.channel not in ONLINE_CHANNELS:
        raise RefundRefused(gettext("Offline gifts are given back outside Stripe."))
    if not locked.is_counted:
        raise RefundRefused(gettext("Only a confirmed donation can be refunded."))
    if locked.channel == Channel.STRIPE and not locked.payment_intent_id:
        raise RefundRefused(gettext("This donation has no Stripe payment to refund."))
    if not reason.strip():
        raise RefundRefused(gettext("Give a reason."))
    available = refund_available(donation=locked)
    if amount.amount <= 0 or amount.amount > available.amount:
        raise RefundRefused(
            gettext("The refund must be more than $0.00 and at most %(max)s.")
            % {"max": f"${available.amount:.2f}"}
        )
    refund = Refund.objects.create(
        donation=locked, amount=cad(amount.amount), reason=reason.strip(), requested_by=user
    )
    from .tasks import submit_refund

    refund_id = refund.pk
    # robust: with the broker down the refund stays requested; `work_sweep` submits it later.
    transaction.on_commit(lambda: submit_refund.delay(refund_id), robust=True)
    return refund


def refund_submit(*, refund_id: int) -> Refund:
    """Send a requested refund to Stripe, once: the idempotency key makes a retry harmless.

    Raises `gateway.GatewayError` (the task retries with the same key).
    """
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("donation").get(pk=refund_id)
        if refund.status != RefundStatus.REQUESTED:
            return refund
        refund.attempts += 1
        refund.save(update_fields=["attempts"])
    donation = refund.donation
    if donation.channel == Channel.DEMO:
        # No money moves in the demo: play Stripe's part and its webhook at once, in one
        # transaction with the donation, then the refund locked (the webhook's order), so two
        # runs of the task cannot both add the refund.
        with transaction.atomic():
            Donation.objects.select_for_update().get(pk=donation.pk)
            refund = Refund.objects.select_for_update().get(pk=refund_id)
            if refund.status != RefundStatus.REQUESTED:
                return refund
            refund_record(
                donation_ref=str(donation.public_id),
                payment_intent_id=donation.payment_intent_id,
                charge_id=donation.charge_id,
                amount_refunded=refund.amount,
                added=True,
            )
            Refund.objects.filter(pk=refund.pk).update(
                status=RefundStatus.CONFIRMED,
                stripe_refund_id=f"demo_re_{refund.public_id}",
                submitted_at=timezone.now(),
                confirmed_at=timezone.now(),
            )
        refund.refresh_from_db()
        return refund
    try:
        stripe_refund_id = gateway.refund_create(
            payment_intent_id=donation.payment_intent_id,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            metadata={"donation": str(donation.public_id), "refund": str(refund.public_id)},
        )
    except gateway.GatewayError as error:
        Refund.objects.filter(pk=refund.pk).update(error=str(error)[:2000])
        raise
    Refund.objects.filter(pk=refund.pk, status=RefundStatus.REQUESTED).update(
        status=RefundStatus.SUBMITTED,
        stripe_refund_id=stripe_refund_id,
        submitted_at=timezone.now(),
        error="",
    )
    refund.refresh_from_db()
    return refund


def refund_give_up(*, refund_id: int, error: str) -> None:
    """Stripe kept refusing: the request is failed and nothing changed in the totals."""
    Refund.objects.filter(pk=refund_id, status=RefundStatus.REQUESTED).update(
        status=RefundStatus.FAILED, error=error[:2000]
    )


def _refunds_settle(*, donation: Donation) -> None:
    """Mark sent refunds confirmed, oldest first, as far as Stripe's refunded total covers them."""
    confirmed = sum(
        (
            r.amount.amount
            for r in donation.refunds.filter(status=RefundStatus.CONFIRMED)
            if not r.stripe_refund_id.startswith("demo_")
        ),
        Decimal("0"),
    )
    room = donation.amount_refunded.amount - confirmed
    for refund in donation.refunds.filter(status=RefundStatus.SUBMITTED).order_by("created_at"):
        if refund.amount.amount > room:
            break
        room -= refund.amount.amount
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.CONFIRMED, confirmed_at=timezone.now()
        )


# --- Disputes ------------------------------------------------------------------------------

DISPUTE_OUTCOMES = {"won": DisputeState.WON, "lost": DisputeState.LOST}


def _dispute_donation(dispute: dict[str, Any]) -> Donation:
    payment_intent = dispute.get("payment_intent") or ""
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id", "")
    charge = dispute.get("charge") or ""
    if isinstance(charge, dict):
        charge = charge.get("id", "")
    query = Donation.objects.select_for_update()
    donation = None
    if payment_intent:
        donation = query.filter(payment_intent_id=payment_intent).first()
    if donation is None and charge:
        donation = query.filter(charge_id=charge).first()
    if donation is None:
        raise DonationNotFound(f"No donation for dispute pi={payment_intent!r} ch={charge!r}")
    return donation


def _on_dispute_created(event: StripeEvent) -> Donation:
    dispute = event.payload["data"]["object"]
    donation = _dispute_donation(dispute)
    if donation.dispute_state in (DisputeState.WON, DisputeState.LOST):
        return donation  # the closing event came first: the outcome stands

    def open_dispute(d: Donation) -> None:
        d.dispute_state = DisputeState.OPEN
        d.dispute_id = str(dispute.get("id") or "")

    return _change(donation, open_dispute)


def _on_dispute_closed(event: StripeEvent) -> Donation:
    dispute = event.payload["data"]["object"]
    donation = _dispute_donation(dispute)
    status = str(dispute.get("status") or "")
    # "warning_closed" (an inquiry that never became a dispute) gives the money back like a win.
    outcome = DISPUTE_OUTCOMES.get(status, DisputeState.WON)

    def close_dispute(d: Donation) -> None:
        d.dispute_state = outcome
        d.dispute_id = str(dispute.get("id") or d.dispute_id)

    return _change(donation, close_dispute)


EVENT_HANDLERS["charge.dispute.created"] = _on_dispute_created
EVENT_HANDLERS["charge.dispute.closed"] = _on_dispute_closed


@transaction.atomic
def rollups_rebuild(*, campaign: Campaign) -> int:
    """Rebuild a campaign's daily rollup and amount tally from its donations (a one-off scan).

    For donations counted before the rollup existed. Refunds and disputes land on the gift's own
    day here, since their dates were not kept before. Returns the number of gifts read.
    """
    Campaign.objects.select_for_update().get(pk=campaign.pk)
    days: dict[date, dict[str, Any]] = {}
    tally: dict[Decimal, int] = {}
    read = 0
    for donation in Donation.objects.filter(campaign=campaign).iterator(chunk_size=2000):
        c = donation.contribution()
        if not c.gross:
            continue
        read += 1
        when = donation.confirmed_at or donation.created_at
        row = days.setdefault(timezone.localdate(when), {"donation_count": 0})
        for name in ("gross", "refunded", "disputed", "fees", "offline"):
            row[name] = row.get(name, Decimal("0")) + getattr(c, name)
        row["donation_count"] += c.donations
        if c.donations:
            kept = c.gross - c.refunded
            tally[kept] = tally.get(kept, 0) + 1
    DailyRollup.objects.filter(campaign=campaign).delete()
    AmountTally.objects.filter(campaign=campaign).delete()
    DailyRollup.objects.bulk_create(
        [
            DailyRollup(
                campaign=campaign,
                day=day,
                donation_count=row["donation_count"],
                **{
                    n: cad(row.get(n, 0))
                    for n in ("gross", "refunded", "disputed", "fees", "offline")
                },
            )
            for day, row in days.items()
        ]
    )
    AmountTally.objects.bulk_create(
        [AmountTally(campaign=campaign, amount=a, count=n) for a, n in tally.items()]
    )
    return read
