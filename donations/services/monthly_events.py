"""What Stripe tells us about monthly gifts: a subscription started, an invoice paid or failed,
a subscription changed or ended, a card replaced.

Each paid invoice is one `Donation` (unique on `invoice_id`), created and confirmed under the
gift's row lock through `ledger.donation_change`: `invoice.paid`, `invoice.payment_succeeded`,
the Checkout completion and reconciliation may all report it, in any order and any number of
times, and it counts once. A failed renewal counts nothing. Status only moves forward to ended:
a late snapshot of an older state never revives a cancelled gift.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from core import jobs
from core.money import CURRENCY, cad
from donations import gateway
from donations.models import (
    Donation,
    DonationState,
    MonthlyEndReason,
    MonthlyGift,
    MonthlyRenewalFailure,
    MonthlyStatus,
)
from donations.services import monthly_covered
from donations.services.ledger import CONFIRMABLE, donation_change
from donations.services.monthly import from_unix, monthly_locked

logger = logging.getLogger(__name__)

STOPPED = (MonthlyStatus.ENDING, MonthlyStatus.ENDED)


def _link(gift: MonthlyGift, *, subscription_id: str, customer_id: str) -> None:
    """Note which subscription a gift became, whichever event says so first."""
    if subscription_id and not gift.subscription_id:
        gift.subscription_id = subscription_id
    if customer_id and not gift.customer_id:
        gift.customer_id = customer_id


def _activate(gift: MonthlyGift) -> bool:
    """A first payment, or the retry that paid the failed invoice, makes the gift active (a late
    report of an older paid invoice leaves a newer failure standing). True when it just started."""
    started = gift.started_at is None
    if started:
        gift.started_at = timezone.now()
    if gift.status == MonthlyStatus.PENDING or (
        gift.status == MonthlyStatus.PAST_DUE and not gift.failures.filter(recovered=False).exists()
    ):
        gift.status = MonthlyStatus.ACTIVE
    return started


def _period_end(gift: MonthlyGift, seconds: int | None) -> None:
    when = from_unix(seconds)
    if when is not None and (gift.current_period_end is None or when > gift.current_period_end):
        gift.current_period_end = when


@transaction.atomic
def monthly_checkout_complete(*, checkout: gateway.SubscriptionCheckout) -> Donation | None:
    """Checkout finished: the gift has its subscription. Its first invoice counts through
    `monthly_invoice_paid`, fetched here too so a lost `invoice.paid` loses nothing."""
    gift = monthly_locked(monthly_ref=checkout.monthly_ref)
    _link(gift, subscription_id=checkout.subscription_id, customer_id=checkout.customer_id)
    if checkout.session_id and not gift.checkout_session_id:
        gift.checkout_session_id = checkout.session_id
    gift.save()
    if not checkout.complete or checkout.payment_status != "paid" or not checkout.invoice_id:
        return None
    if Donation.objects.filter(invoice_id=checkout.invoice_id).exists():
        return None
    return monthly_invoice_paid(invoice=gateway.invoice_retrieve(invoice_id=checkout.invoice_id))


def _payment_ids(invoice: gateway.Invoice) -> gateway.Invoice:
    """Webhook payloads may leave `payments` out: ask Stripe for them (refunds need the intent)."""
    if invoice.payment_intent_id or invoice.charge_id or gateway.is_demo():
        return invoice
    return gateway.invoice_retrieve(invoice_id=invoice.invoice_id)


@transaction.atomic
def monthly_invoice_paid(*, invoice: gateway.Invoice) -> Donation | None:
    """Count a paid invoice once as a gift, and keep the gift running."""
    if invoice.status != "paid" or invoice.amount_paid.amount <= 0:
        return None  # a $0 invoice or one not paid yet: nothing to count
    gift = monthly_locked(monthly_ref=invoice.monthly_ref, subscription_id=invoice.subscription_id)
    _link(gift, subscription_id=invoice.subscription_id, customer_id=invoice.customer_id)
    MonthlyRenewalFailure.objects.filter(invoice_id=invoice.invoice_id).update(recovered=True)
    started = _activate(gift)
    _period_end(gift, invoice.period_end)
    gift.save()
    donation = Donation.objects.select_for_update().filter(invoice_id=invoice.invoice_id).first()
    if donation is not None and donation.state not in CONFIRMABLE:
        return donation  # counted already: a redelivery, the other event type, reconciliation
    invoice = _payment_ids(invoice)
    if donation is None:
        first = not gift.donations.exists()
        donation = Donation.objects.create(
            campaign_id=gift.campaign_id,
            monthly_gift=gift,
            invoice_id=invoice.invoice_id,
            amount=cad(invoice.amount_paid.amount),
            covers_fees=gift.covers_fees,
            fee_covered=gift.fee_covered if invoice.amount_paid == gift.amount else cad(0),
            display_name=gift.display_name,
            # The message is shown once, with the first month, not repeated on every renewal.
            message=gift.message if first else "",
            anonymous=gift.anonymous,
            show_amount=gift.show_amount,
            email=gift.email,
            language=gift.language,
            channel=gateway.channel(),
        )
    mismatch = (
        f"Invoice paid in {invoice.currency}, not {CURRENCY}."
        if invoice.currency and invoice.currency != CURRENCY
        else ""
    )

    def confirm(d: Donation) -> None:
        d.payment_intent_id = d.payment_intent_id or invoice.payment_intent_id
        d.charge_id = d.charge_id or invoice.charge_id
        if mismatch:
            d.flag = mismatch
            return
        d.state = DonationState.CONFIRMED
        d.confirmed_at = d.confirmed_at or timezone.now()
        if d.amount_refunded.amount >= d.amount.amount:
            d.state = DonationState.REFUNDED

    donation = donation_change(donation, confirm)
    if started and gift.until_covered:
        campaign_id = gift.campaign_id
        # Joined after the goal was met: it stops at the end of this first month.
        transaction.on_commit(
            lambda: monthly_covered.covered_check(campaign_id=campaign_id), robust=True
        )
    return donation


@transaction.atomic
def monthly_invoice_failed(*, invoice: gateway.Invoice) -> MonthlyRenewalFailure | None:
    """A renewal Stripe could not charge: nothing counts; the supporter hears once per invoice how
    to update the card. Stripe retries on its own schedule; a later `invoice.paid` counts then."""
    gift = monthly_locked(monthly_ref=invoice.monthly_ref, subscription_id=invoice.subscription_id)
    _link(gift, subscription_id=invoice.subscription_id, customer_id=invoice.customer_id)
    if Donation.objects.filter(invoice_id=invoice.invoice_id).exists():
        gift.save()
        return None  # paid since (events out of order): the failure is history
    if gift.status == MonthlyStatus.ACTIVE:
        gift.status = MonthlyStatus.PAST_DUE
    gift.save()
    failure, created = MonthlyRenewalFailure.objects.get_or_create(
        invoice_id=invoice.invoice_id,
        defaults={"gift": gift, "attempt_count": max(invoice.attempt_count, 1)},
    )
    if not created and invoice.attempt_count > failure.attempt_count:
        failure.attempt_count = invoice.attempt_count
        failure.save(update_fields=["attempt_count"])
    if failure.email_sent_at is None:
        jobs.enqueue("donations.tasks.send_monthly_failed", failure.pk, invoice.hosted_invoice_url)
    return failure


@transaction.atomic
def monthly_subscription_sync(*, subscription: gateway.Subscription) -> MonthlyGift:
    """`customer.subscription.created/updated`: ids, period, and a cancellation at period end
    (made here or in Stripe's dashboard). Payments move the status, not these snapshots."""
    gift = monthly_locked(
        monthly_ref=subscription.monthly_ref, subscription_id=subscription.subscription_id
    )
    _link(gift, subscription_id=subscription.subscription_id, customer_id=subscription.customer_id)
    _period_end(gift, subscription.current_period_end)
    if subscription.status == "canceled":
        _end(gift)
    elif subscription.cancel_at_period_end and gift.status not in STOPPED:
        gift.status = MonthlyStatus.ENDING
        gift.end_reason = gift.end_reason or MonthlyEndReason.STRIPE
        gift.cancel_requested_at = gift.cancel_requested_at or timezone.now()
    gift.save()
    return gift


def _end(gift: MonthlyGift) -> None:
    gift.status = MonthlyStatus.ENDED
    gift.ended_at = gift.ended_at or timezone.now()
    gift.end_reason = gift.end_reason or MonthlyEndReason.STRIPE


@transaction.atomic
def monthly_subscription_deleted(*, subscription: gateway.Subscription) -> MonthlyGift:
    """`customer.subscription.deleted`: the gift has ended (at period end, or Stripe gave up)."""
    gift = monthly_locked(
        monthly_ref=subscription.monthly_ref, subscription_id=subscription.subscription_id
    )
    _link(gift, subscription_id=subscription.subscription_id, customer_id=subscription.customer_id)
    _end(gift)
    gift.save()
    return gift


@transaction.atomic
def monthly_card_updated(*, update: gateway.CardUpdate) -> MonthlyGift:
    """A setup-mode session finished: its card pays the next renewals."""
    gift = monthly_locked(monthly_ref=update.monthly_ref, subscription_id=update.subscription_id)
    payment_method = update.payment_method_id or gateway.setup_intent_payment_method(
        setup_intent_id=update.setup_intent_id
    )
    if gift.subscription_id and payment_method and gift.status != MonthlyStatus.ENDED:
        gateway.subscription_payment_method_set(
            subscription_id=gift.subscription_id,
            monthly_ref=str(gift.public_id),
            payment_method_id=payment_method,
        )
    return gift
