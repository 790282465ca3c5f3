"""Stripe's processing fee, and the gross-up a donor pays to cover it.

Stripe charges `rate × gross + fixed`, rounded to the cent (half up). A donor covering the fee pays
the smallest gross that leaves the campaign exactly the gift they chose:

    gross = ceil_to_cent((gift + fixed) / (1 - rate))

then one cent less when that still nets the gift (the ceiling alone can overshoot by a cent once
Stripe rounds its fee). The same arithmetic runs in static/js/campaign.js, in integer cents, for the
live preview; the server's figure is the one charged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from djmoney.money import Money

from core.money import cad
from donations.models import Donation

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")


@dataclass(frozen=True)
class FeeSchedule:
    percent: Decimal  # 2.9 means 2.9 %
    fixed: Decimal  # dollars per charge

    @property
    def rate(self) -> Decimal:
        return self.percent / 100


def fee_schedule() -> FeeSchedule:
    return FeeSchedule(
        percent=Decimal(settings.STRIPE_FEE_PERCENT), fixed=Decimal(settings.STRIPE_FEE_FIXED_CAD)
    )


def stripe_fee(*, gross: Money, schedule: FeeSchedule | None = None) -> Money:
    """What Stripe keeps from a charge of `gross`, rounded half up to the cent."""
    s = schedule or fee_schedule()
    return cad((gross.amount * s.rate + s.fixed).quantize(CENT, rounding=ROUND_HALF_UP))


def gross_up(*, gift: Money, schedule: FeeSchedule | None = None) -> Money:
    """The charge that leaves exactly `gift` once Stripe has taken its fee."""
    s = schedule or fee_schedule()
    gross = ((gift.amount + s.fixed) / (1 - s.rate)).quantize(CENT, rounding=ROUND_CEILING)
    if _net(gross - CENT, s) >= gift.amount:
        gross -= CENT
    return cad(gross)


def _net(gross: Decimal, s: FeeSchedule) -> Decimal:
    return gross - (gross * s.rate + s.fixed).quantize(CENT, rounding=ROUND_HALF_UP)


# --- Asking Stripe for a payment's fee, backing off while it stays unknown -------------------

FEE_RETRY_FIRST_SECONDS = 60
FEE_RETRY_MAX_SECONDS = 6 * 3600
# 1, 2, 4 … 256 minutes, then every 6 hours: about a day in all, then the organizer is told.
FEE_MAX_ATTEMPTS = 12
FEE_UNKNOWN_NOTE = (
    "Stripe's fee for this payment is still unknown after {n} attempts: read it from the "
    "charge's balance transaction in Stripe's dashboard."
)


def fee_retry_delay(*, attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th unanswered request: doubling, capped."""
    seconds = FEE_RETRY_FIRST_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, FEE_RETRY_MAX_SECONDS))


@transaction.atomic
def fee_attempt_record(*, donation_id: int, now: datetime | None = None) -> Donation:
    """One more request for the fee went unanswered: schedule the next, or, after
    `FEE_MAX_ATTEMPTS`, stop asking and put it to the organizer (the totals do not change)."""
    now = now or timezone.now()
    donation = Donation.objects.select_for_update().get(pk=donation_id)
    if donation.fee.amount:
        return donation
    donation.fee_attempts += 1
    if donation.fee_attempts >= FEE_MAX_ATTEMPTS:
        donation.fee_retry_at = None
        donation.attention = FEE_UNKNOWN_NOTE.format(n=donation.fee_attempts)
        logger.warning("Donation %s: %s", donation.pk, donation.attention)
    else:
        donation.fee_retry_at = now + fee_retry_delay(attempts=donation.fee_attempts)
    donation.save(update_fields=["fee_attempts", "fee_retry_at", "attention"])
    return donation
