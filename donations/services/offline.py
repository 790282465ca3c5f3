"""Offline gifts (cheque, cash, e-Transfer) recorded by the organizer: they count at once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from djmoney.money import Money

from audit.models import MoneyAction
from audit.services import audit_record
from campaign.models import Campaign
from core.money import cad
from donations.models import CaseClosure, Channel, Donation, DonationState
from donations.services.ledger import donation_change

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
    user: Any = None,
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

    gift = donation_change(donation, receive)
    audit_record(
        user=user,
        action=MoneyAction.OFFLINE_GIFT,
        obj=gift,
        detail={
            "amount": gift.amount.amount,
            "channel": channel,
            "received_on": received_on,
            "reference": reference,
        },
    )
    return gift
