"""Refunds: asked from the admin (sent by a task, idempotent), and Stripe's cumulative figure
applied as it arrives, in any order; a refund that failed after Stripe took it counts again.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from djmoney.money import Money

from audit.models import MoneyAction
from audit.services import audit_record
from core import jobs
from core.money import CURRENCY, cad
from donations import gateway
from donations.models import ONLINE_CHANNELS, Channel, Donation, DonationState, Refund, RefundStatus
from donations.services.ledger import donation_change, donation_locked

logger = logging.getLogger(__name__)


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
    donation = donation_locked(donation_ref=donation_ref, payment_intent_id=payment_intent_id)
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

    return donation_change(donation, refund)


def _refunded_set(
    donation: Donation, *, refunded: Money, charge_id: str = "", payment_intent_id: str = ""
) -> Donation:
    """Make Stripe's figure for the charge the stored one, up or down, totals following."""
    amount = cad(min(max(refunded.amount, Decimal("0")), donation.amount.amount))
    if amount == donation.amount_refunded and (not charge_id or donation.charge_id == charge_id):
        return donation

    def apply(d: Donation) -> None:
        if charge_id:
            d.charge_id = charge_id
        if payment_intent_id and not d.payment_intent_id:
            d.payment_intent_id = payment_intent_id
        d.amount_refunded = amount
        if d.state == DonationState.REFUNDED and amount.amount < d.amount.amount:
            d.state = DonationState.CONFIRMED
        elif d.state == DonationState.CONFIRMED and amount.amount >= d.amount.amount:
            d.state = DonationState.REFUNDED

    return donation_change(donation, apply)


# A refund in these statuses gave nothing back: its money stays on the charge.
UNDONE_STATUSES = {"failed": RefundStatus.FAILED, "canceled": RefundStatus.CANCELED}


@transaction.atomic
def refund_failure_record(
    *,
    stripe_refund_id: str,
    donation_ref: str,
    payment_intent_id: str,
    reason: str,
    status: str = "failed",
) -> Donation:
    """A refund failed after Stripe accepted it (a closed card account), or was canceled: the
    money stayed.

    The refund is marked failed (or canceled), and the refunded amount becomes the charge's figure
    at Stripe now (which no longer includes it), through `donation_change` so the totals move
    with it. Safe to run twice; a refund made in Stripe's dashboard (no row of ours) is covered
    the same way. Raises `gateway.GatewayError` when Stripe cannot be asked (the event is retried).
    """
    donation = donation_locked(donation_ref=donation_ref, payment_intent_id=payment_intent_id)
    if stripe_refund_id:
        Refund.objects.filter(stripe_refund_id=stripe_refund_id).exclude(
            status__in=UNDONE_STATUSES.values()
        ).update(
            status=UNDONE_STATUSES.get(status, RefundStatus.FAILED),
            error=f"Stripe: {reason}"[:2000],
        )
    if donation.channel != Channel.STRIPE or not donation.payment_intent_id:
        return donation
    if payment_intent_id and payment_intent_id != donation.payment_intent_id:
        return donation  # a refund of another payment (a second payment given back)
    stripe_figure = gateway.charge_refunded_amount(payment_intent_id=donation.payment_intent_id)
    return _refunded_set(donation, refunded=stripe_figure)


class RefundRefused(ValueError):
    """The refund cannot be asked for; the message says why, for the admin."""


def refund_available(*, donation: Donation) -> Money:
    """What can still be refunded: the gift, less refunds done and refunds on their way."""
    on_the_way = sum(
        (
            r.amount.amount
            for r in donation.refunds.filter(
                status__in=(RefundStatus.REQUESTED, RefundStatus.SUBMITTED), payment_intent_id=""
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
    audit_record(
        user=user,
        action=MoneyAction.REFUND,
        obj=locked,
        detail={"amount": refund.amount.amount, "reason": refund.reason, "refund": refund.pk},
    )
    # With the broker down the refund stays requested; `work_sweep` submits it later.
    jobs.enqueue("donations.tasks.submit_refund", refund.pk)
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
            payment_intent_id=refund.payment_intent_id or donation.payment_intent_id,
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


def refunds_settle(*, donation: Donation) -> None:
    """Mark sent refunds confirmed, oldest first, as far as Stripe's refunded total covers them."""
    confirmed = sum(
        (
            r.amount.amount
            for r in donation.refunds.filter(status=RefundStatus.CONFIRMED, payment_intent_id="")
            if not r.stripe_refund_id.startswith("demo_")
        ),
        Decimal("0"),
    )
    room = donation.amount_refunded.amount - confirmed
    for refund in donation.refunds.filter(
        status=RefundStatus.SUBMITTED, payment_intent_id=""
    ).order_by("created_at"):
        if refund.amount.amount > room:
            break
        room -= refund.amount.amount
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.CONFIRMED, confirmed_at=timezone.now()
        )


def _other_payment_refunds_settle(
    *, donation: Donation, payment_intent_id: str, refunded: Money
) -> None:
    """A second payment's refunds, confirmed as its own charge's refunded figure covers them."""
    room = refunded.amount - sum(
        (
            r.amount.amount
            for r in donation.refunds.filter(
                status=RefundStatus.CONFIRMED, payment_intent_id=payment_intent_id
            )
        ),
        Decimal("0"),
    )
    for refund in donation.refunds.filter(
        status=RefundStatus.SUBMITTED, payment_intent_id=payment_intent_id
    ).order_by("created_at"):
        if refund.amount.amount > room:
            break
        room -= refund.amount.amount
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.CONFIRMED, confirmed_at=timezone.now()
        )


@transaction.atomic
def charge_refund_apply(*, refund: gateway.ChargeRefund) -> Donation:
    """`charge.refunded`: Stripe's cumulative refunded figure for a charge.

    Events arrive in any order and a snapshot may predate a refund's failure, so whenever the
    event's figure disagrees with the stored one, Stripe is asked for the charge's figure now and
    that is the truth (it may be lower: a refund failed or was canceled since). Raises
    `GatewayError` when Stripe cannot be asked (the event is retried).
    """
    if refund.currency != CURRENCY:
        raise ValueError(f"Refund in {refund.currency}, not {CURRENCY}.")
    donation = donation_locked(
        donation_ref=refund.donation_ref, payment_intent_id=refund.payment_intent_id
    )
    if (
        refund.payment_intent_id
        and donation.payment_intent_id
        and refund.payment_intent_id != donation.payment_intent_id
    ):
        # Another payment for this donation (a second payment, refunded automatically).
        _other_payment_refunds_settle(
            donation=donation,
            payment_intent_id=refund.payment_intent_id,
            refunded=refund.amount_refunded,
        )
        return donation
    amount_refunded = refund.amount_refunded
    payment_intent_id = refund.payment_intent_id or donation.payment_intent_id
    if amount_refunded != donation.amount_refunded and payment_intent_id:
        amount_refunded = gateway.charge_refunded_amount(payment_intent_id=payment_intent_id)
    donation = _refunded_set(
        donation,
        refunded=amount_refunded,
        charge_id=refund.charge_id,
        payment_intent_id=refund.payment_intent_id,
    )
    refunds_settle(donation=donation)
    return donation
