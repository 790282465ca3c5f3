"""Stripe's processing fee, and the gross-up a donor pays to cover it.

Stripe charges `rate × gross + fixed`, rounded to the cent (half up). A donor covering the fee pays
the smallest gross that leaves the campaign exactly the gift they chose:

    gross = ceil_to_cent((gift + fixed) / (1 - rate))

then one cent less when that still nets the gift (the ceiling alone can overshoot by a cent once
Stripe rounds its fee). The same arithmetic runs in static/js/campaign.js, in integer cents, for the
live preview; the server's figure is the one charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.conf import settings
from djmoney.money import Money

from core.money import cad

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
