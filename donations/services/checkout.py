"""Starting a donation, counting its payment once, and what happens when it is not paid."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from djmoney.money import Money

from audit.models import MoneyAction
from audit.services import audit_record
from campaign.models import Campaign
from core.db import commit_without_waiting_for_disk
from core.money import CURRENCY, cad
from donations import gateway
from donations.models import Channel, Donation, DonationState, EventStatus, StripeEvent
from donations.services import fees
from donations.services.ledger import CONFIRMABLE, donation_change, donation_locked

logger = logging.getLogger(__name__)


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
        channel=gateway.channel(),
    )


def checkout_begin(
    *, donation: Donation, success_url: str, cancel_url: str, locale: str = "auto"
) -> gateway.CheckoutRedirect:
    """Open the payment page for a pending donation. Raises `gateway.GatewayError`."""
    replaced = donation.checkout_session_id
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
    if replaced and replaced != redirect.session_id:
        _session_replaced_expire(session_id=replaced)
    return redirect


def _session_replaced_expire(*, session_id: str) -> None:
    """A retry in another language opens a new session (its parameters differ): expire the old
    one so one donation cannot be paid twice. Best effort: if it was paid first, or Stripe is
    unreachable, the second-payment rule refunds whichever payment comes second."""
    try:
        status = gateway.checkout_session_expire(session_id=session_id)
    except gateway.GatewayError as error:
        logger.warning("Could not expire replaced Checkout Session %s: %s", session_id, error)
        return
    if status == "complete":
        logger.warning("Replaced Checkout Session %s was paid first", session_id)


def _mismatch(donation: Donation, result: gateway.CheckoutResult) -> str:
    if result.currency and result.currency != CURRENCY:
        return f"Currency {result.currency} does not match {CURRENCY}."
    if result.amount_total is not None and result.amount_total != donation.amount:
        return f"Amount {result.amount_total} does not match the donation's {donation.amount}."
    return ""


@transaction.atomic
def donation_fulfil(*, result: gateway.CheckoutResult, locked: Donation | None = None) -> Donation:
    """Count a completed checkout exactly once. Called by webhooks, the success page and the demo.

    `payment_status == "paid"` confirms; a completed but unpaid checkout (bank debits and other
    delayed methods) waits in `processing` for `async_payment_succeeded`. `locked`: the donation,
    when the caller already holds its row lock in this transaction.
    """
    donation = locked or donation_locked(
        donation_ref=result.donation_ref, session_id=result.session_id
    )
    mismatch = _mismatch(donation, result)
    if mismatch:
        logger.warning("Donation %s flagged: %s", donation.pk, mismatch)

        def flag(d: Donation) -> None:
            d.flag = mismatch

        return donation_change(donation, flag)
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

    return donation_change(donation, confirm)


@transaction.atomic
def donation_payment_failed(*, result: gateway.CheckoutResult) -> Donation:
    donation = donation_locked(donation_ref=result.donation_ref, session_id=result.session_id)
    if donation.state in (DonationState.PENDING, DonationState.PROCESSING):

        def fail(d: Donation) -> None:
            d.state = DonationState.FAILED

        donation_change(donation, fail)
    return donation


@transaction.atomic
def donation_expire(*, result: gateway.CheckoutResult) -> Donation:
    donation = donation_locked(donation_ref=result.donation_ref, session_id=result.session_id)
    current = donation.checkout_session_id
    replaced = bool(result.session_id and current and current != result.session_id)
    if donation.state == DonationState.PENDING and not replaced:

        def expire(d: Donation) -> None:
            d.state = DonationState.EXPIRED

        donation_change(donation, expire)
    return donation


@transaction.atomic
def donation_cancel(*, donation: Donation) -> Donation:
    """The member came back from the payment page without paying."""
    locked = Donation.objects.select_for_update().get(pk=donation.pk)
    if locked.state == DonationState.PENDING:

        def cancel(d: Donation) -> None:
            d.state = DonationState.CANCELLED

        donation_change(locked, cancel)
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
    return gateway.events.flagged_payment(event.payload)


@transaction.atomic
def donation_flag_resolve(*, donation: Donation, user: Any = None) -> Donation:
    """The admin accepts a flagged payment as received: it counts, at the amount actually paid.

    A flag is the only thing keeping a paid donation out of the totals, so clearing it goes
    through `donation_change` like any other state change. Raises `FlagNotResolvable`.
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

    flag = locked.flag
    result = donation_change(locked, resolve)
    audit_record(
        user=user,
        action=MoneyAction.DONATION_EDIT,
        obj=result,
        detail={"resolved_flag": flag, "amount": result.amount.amount},
    )
    return result


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


@transaction.atomic
def donation_fee_record(*, donation_id: int) -> Donation:
    """Ask Stripe for the charge's balance transaction and record its fee once.

    Raises `gateway.GatewayError`; returns the donation unchanged when Stripe has no balance
    transaction yet (the task tries again later).
    """
    donation = Donation.objects.select_for_update().get(pk=donation_id)
    if donation.channel != Channel.STRIPE or donation.fee.amount or not donation.payment_intent_id:
        return donation
    charge = gateway.payment_charge_fee(payment_intent_id=donation.payment_intent_id)
    if charge.fee is None:
        return donation

    def record(d: Donation) -> None:
        d.fee = charge.fee
        if charge.charge_id and not d.charge_id:
            d.charge_id = charge.charge_id

    return donation_change(donation, record)
