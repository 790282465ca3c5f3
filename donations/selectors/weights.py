"""What a gift weighs where money is shared out or attributed: surplus shares, stage figures.

A gift weighs what the donor gave, net of refunds, refunds on their way, and what a dispute
withdrew and Stripe did not give back (`dispute_withdrawn`), never below zero. That is the money the
totals keep of it (`Donation.contribution`: gross − refunded − disputed, the dispute held only up to
what is left after refunds) less the part a refund on its way is about to take. So an inquiry
or a won dispute weighs the whole gift, a partial dispute its undisputed rest, an open, appealed
or lost one what Stripe left; the dispute state itself is never read here.

A refund on its way can only take what the gift still adds to `raised` (`Weight.leaving`): on a
gift whose whole amount is withdrawn it takes nothing, so it is never taken off twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from campaign.models import Campaign
from donations.models import Donation, DonationState, Refund, RefundStatus

ZERO = Decimal("0")
# The gifts the totals count (`Donation.is_counted`), as a filter.
COUNTED = Q(state__in=(DonationState.CONFIRMED, DonationState.REFUNDED), flag="")


@dataclass(frozen=True)
class Weight:
    kept: Decimal  # what the gift still adds to `raised`
    leaving: Decimal  # the part of `kept` a refund on its way takes (still in `raised` until then)

    @property
    def weight(self) -> Decimal:
        return self.kept - self.leaving


def gift_weight(
    *, amount: Decimal, refunded: Decimal, withdrawn: Decimal, on_the_way: Decimal = ZERO
) -> Weight:
    """One counted gift's weight from its figures (as `Donation.contribution` reads them)."""
    refunded = min(max(refunded, ZERO), amount)
    disputed = min(max(withdrawn, ZERO), amount - refunded)
    kept = amount - refunded - disputed
    return Weight(kept=kept, leaving=min(max(on_the_way, ZERO), kept))


def refunds_on_the_way(*, campaign: Campaign) -> dict[int, Decimal]:
    """Per counted gift: its own refunds asked and not yet confirmed by Stripe (a refund of a
    second payment is not: that money was never counted)."""
    return {
        row["donation_id"]: Decimal(row["total"] or 0)
        for row in Refund.objects.filter(
            donation__campaign=campaign,
            donation__state__in=(DonationState.CONFIRMED, DonationState.REFUNDED),
            donation__flag="",
            status__in=(RefundStatus.REQUESTED, RefundStatus.SUBMITTED),
            payment_intent_id="",
        )
        .values("donation_id")
        .annotate(total=Sum("amount"))
    }


def donation_weights(
    donations: Iterable[Donation], *, on_the_way: dict[int, Decimal] | None = None
) -> dict[int, Weight]:
    """Each counted donation's weight by pk (in the order given), refunds on their way off."""
    on_the_way = on_the_way or {}
    return {
        d.pk: gift_weight(
            amount=d.amount.amount,
            refunded=d.amount_refunded.amount,
            withdrawn=d.dispute_withdrawn.amount,
            on_the_way=on_the_way.get(d.pk, ZERO),
        )
        for d in donations
        if d.is_counted
    }
