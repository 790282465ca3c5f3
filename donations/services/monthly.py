"""Monthly gifts: starting one, and what the donor (or the organizer) does with it afterwards.

A `MonthlyGift` never counts by itself: every paid invoice becomes one `Donation`
(`monthly_events.monthly_invoice_paid`), moved through `ledger.donation_change` like any gift.
Changes at Stripe (cancel at period end, a new amount, a new card) are made under the gift's row
lock, so two clicks or two workers make one request; each request carries our idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from djmoney.money import Money

from campaign.models import Campaign
from core import jobs
from core.money import cad
from donations import gateway
from donations.models import MonthlyEndReason, MonthlyGift, MonthlyRenewalFailure, MonthlyStatus
from donations.services import fees
from donations.services.ledger import DonationNotFound, is_uuid


class MonthlyGiftNotFound(DonationNotFound):
    """An event names a monthly gift we do not have (yet): the event is retried."""


class MonthlyRefused(ValueError):
    """The gift cannot do that now (ended, not started at Stripe, amount out of range)."""


# Who stopped a gift, as `monthly_cancel(actor=...)` names them.
ACTORS = {
    "donor": MonthlyEndReason.DONOR,
    "admin": MonthlyEndReason.ADMIN,
    "covered": MonthlyEndReason.COVERED,
    "closure": MonthlyEndReason.CLOSURE,
}


def from_unix(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


def _charged(*, gift: Money, cover_fees: bool) -> Money:
    gift = cad(gift.amount)
    return fees.gross_up(gift=gift) if cover_fees else gift


def _amount_check(amount: Money) -> None:
    low, high = Decimal(settings.DONATION_MIN_CAD), Decimal(settings.DONATION_MAX_CAD)
    if not low <= amount.amount <= high or amount.amount != amount.amount.quantize(Decimal("0.01")):
        raise MonthlyRefused(f"A monthly gift is between {low} and {high} CAD, in cents.")


def monthly_start(
    *,
    campaign: Campaign,
    amount: Money,
    email: str,
    display_name: str = "",
    message: str = "",
    anonymous: bool = False,
    show_amount: bool = True,
    language: str = "en",
    cover_fees: bool = False,
    until_covered: bool = False,
) -> MonthlyGift:
    """Record a monthly gift awaiting its first payment; nothing counts until an invoice is paid."""
    if not campaign.is_active:
        raise ValueError("This campaign no longer accepts donations.")
    if not email.strip():
        raise MonthlyRefused("A monthly gift needs an email address.")
    charged = _charged(gift=amount, cover_fees=cover_fees)
    return MonthlyGift.objects.create(
        campaign=campaign,
        amount=charged,
        covers_fees=cover_fees,
        fee_covered=cad(charged.amount - cad(amount.amount).amount),
        until_covered=until_covered,
        email=email.strip(),
        language=language,
        display_name="" if anonymous else display_name.strip(),
        message=message.strip(),
        anonymous=anonymous,
        show_amount=show_amount,
    )


def monthly_checkout_begin(
    *, gift: MonthlyGift, success_url: str, cancel_url: str, locale: str = "auto"
) -> gateway.CheckoutRedirect:
    """Open Checkout in subscription mode for a pending gift. Raises `gateway.GatewayError`."""
    choices = {
        "frequency": "monthly",
        "until_covered": "yes" if gift.until_covered else "no",
        "covers_fees": "yes" if gift.covers_fees else "no",
        "anonymous": "yes" if gift.anonymous else "no",
        "show_amount": "yes" if gift.show_amount else "no",
    }
    redirect = gateway.subscription_checkout_create(
        monthly_ref=str(gift.public_id),
        campaign_slug=gift.campaign.slug,
        campaign_title=gift.campaign.title_local,
        amount=gift.amount,
        email=gift.email,
        choices=choices,
        success_url=success_url,
        cancel_url=cancel_url,
        locale=locale,
    )
    MonthlyGift.objects.filter(pk=gift.pk).update(checkout_session_id=redirect.session_id)
    gift.checkout_session_id = redirect.session_id
    return redirect


def monthly_locked(*, monthly_ref: str = "", subscription_id: str = "") -> MonthlyGift:
    """The gift an event is about, locked: by our id (metadata), else by its subscription."""
    query = MonthlyGift.objects.select_for_update()
    gift = None
    if is_uuid(monthly_ref):
        gift = query.filter(public_id=monthly_ref).first()
    if gift is None and subscription_id:
        gift = query.filter(subscription_id=subscription_id).first()
    if gift is None:
        raise MonthlyGiftNotFound(
            f"No monthly gift for ref={monthly_ref!r} subscription={subscription_id!r}"
        )
    return gift


def monthly_stop_locked(gift: MonthlyGift, *, reason: str) -> MonthlyGift:
    """Stop a locked gift: at Stripe, cancel at period end (the paid month runs out, nothing more
    is charged); a gift never started at Stripe simply ends. Raises `gateway.GatewayError`."""
    if gift.status in (MonthlyStatus.ENDING, MonthlyStatus.ENDED):
        return gift
    now = timezone.now()
    if not gift.subscription_id:
        gift.status = MonthlyStatus.ENDED
        gift.ended_at = now
    else:
        subscription = gateway.subscription_cancel_at_period_end(
            subscription_id=gift.subscription_id, monthly_ref=str(gift.public_id)
        )
        gift.status = (
            MonthlyStatus.ENDED if subscription.status == "canceled" else MonthlyStatus.ENDING
        )
        if subscription.current_period_end:
            gift.current_period_end = from_unix(subscription.current_period_end)
    gift.end_reason = reason
    gift.cancel_requested_at = now
    gift.save()
    if gift.ending_email_sent_at is None:
        jobs.enqueue("donations.tasks.send_monthly_email", gift.pk, "ending")
    return gift


@transaction.atomic
def monthly_cancel(*, gift_id: int, actor: str = "donor") -> MonthlyGift:
    """Cancel at period end through Stripe; safe to call twice (the second changes nothing).
    Raises `gateway.GatewayError` (nothing changed: try again)."""
    gift = MonthlyGift.objects.select_for_update().get(pk=gift_id)
    return monthly_stop_locked(gift, reason=ACTORS.get(actor, MonthlyEndReason.DONOR))


@transaction.atomic
def monthly_amount_change(*, gift_id: int, amount: Money) -> MonthlyGift:
    """A new monthly gift from the next renewal on (no proration). `amount` is the gift chosen;
    when the donor covers the fee, the charge is grossed up as on the form.
    Raises `MonthlyRefused` or `gateway.GatewayError`."""
    gift = MonthlyGift.objects.select_for_update().get(pk=gift_id)
    _amount_check(amount)
    if (
        gift.status not in (MonthlyStatus.ACTIVE, MonthlyStatus.PAST_DUE)
        or not gift.subscription_id
    ):
        raise MonthlyRefused("Only a running monthly gift can change its amount.")
    charged = _charged(gift=amount, cover_fees=gift.covers_fees)
    if charged == gift.amount:
        return gift
    gateway.subscription_amount_update(
        subscription_id=gift.subscription_id, monthly_ref=str(gift.public_id), amount=charged
    )
    gift.amount = charged
    gift.fee_covered = cad(charged.amount - cad(amount.amount).amount)
    gift.save(update_fields=["amount", "fee_covered"])
    return gift


def monthly_card_update_session(
    *, gift_id: int, success_url: str, cancel_url: str
) -> gateway.CheckoutRedirect:
    """Checkout in setup mode for the gift's customer; when it completes, the new card becomes
    the subscription's default (`monthly_events.monthly_card_updated`).
    Raises `MonthlyRefused` or `gateway.GatewayError`."""
    gift = MonthlyGift.objects.select_related("campaign").get(pk=gift_id)
    if gift.status == MonthlyStatus.ENDED or not (gift.subscription_id and gift.customer_id):
        raise MonthlyRefused("This monthly gift has no card to update.")
    return gateway.card_update_session_create(
        monthly_ref=str(gift.public_id),
        customer_id=gift.customer_id,
        subscription_id=gift.subscription_id,
        campaign_slug=gift.campaign.slug,
        success_url=success_url,
        cancel_url=cancel_url,
        locale="fr" if gift.language.startswith("fr") else "en",
    )


def monthly_email_once(
    *, gift_id: int, kind: str, send: Callable[[MonthlyGift, str], None]
) -> bool:
    """Send the 'ending' email once (the stamp is set under the row lock)."""
    with transaction.atomic():
        gift = MonthlyGift.objects.select_for_update().get(pk=gift_id)
        if kind != "ending" or gift.ending_email_sent_at is not None or not gift.email:
            return False
        send(gift, kind)
        gift.ending_email_sent_at = timezone.now()
        gift.save(update_fields=["ending_email_sent_at"])
        return True


def monthly_failure_email_once(
    *,
    failure_id: int,
    invoice_url: str,
    send: Callable[[MonthlyRenewalFailure, str], None],
) -> bool:
    """Tell the supporter once per failed invoice how to update the card; not once it was paid."""
    with transaction.atomic():
        failure = (
            MonthlyRenewalFailure.objects.select_for_update()
            .select_related("gift__campaign")
            .get(pk=failure_id)
        )
        if failure.email_sent_at is not None or failure.recovered or not failure.gift.email:
            return False
        send(failure, invoice_url)
        failure.email_sent_at = timezone.now()
        failure.save(update_fields=["email_sent_at"])
        return True
