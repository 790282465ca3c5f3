"""The surplus rule: what happens to money the case did not need.

Each campaign states its rule before the first donation: refund donors pro rata (shares under a
minimum, e.g. $5, are not sent) or give the surplus to a named cause. Closing the case records the
money recovered from the other side, computes

    surplus = raised − processing fees + recovered − spent (sum of the stages' costs), never < 0

and, under the refund rule, splits it over the gifts that count, in exact cents.

How the split works (`split_pro_rata`), in integer cents:

1. Each gift weighs what the donor gave net of refunds, refunds on their way and what a dispute
   withdrew and Stripe did not give back, never below zero (`selectors.weights`).
2. If the surplus covers every gift in full, every gift is refunded in full and the rest goes to
   the named cause (nobody gets back more than they gave); a gift smaller than the minimum is not
   refunded (its share would be under the minimum) and its part goes to the cause too.
3. Otherwise each gift gets ⌊surplus × weight ÷ total⌋ cents, and the cents still missing go one
   each to the largest remainders (ties: the earlier gift). The shares add up to the surplus exactly
   and none exceeds its gift.
4. Shares below the minimum are dropped *all at once* and the surplus is split again over the gifts
   left, so their money is redistributed to the other donors rather than lost; this repeats until
   every share reaches the minimum. Dropping all at once treats equal gifts equally. If no gift is
   left (every share would be under the minimum), the whole surplus goes to the named cause.

The unit is a gift, not a donor: each refund goes back to the card of one payment.
Offline gifts (cheque, cash, e-Transfer) get their share computed the same way and are listed for
repayment by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from djmoney.money import Money

from audit.models import MoneyAction
from audit.services import audit_record
from campaign.models import Campaign, Stage
from core import jobs
from core.money import cad, cents_to_money, money_to_cents
from donations import selectors
from donations.models import (
    ONLINE_CHANNELS,
    CaseClosure,
    ClosureState,
    Donation,
    ShareState,
    SurplusShare,
)
from donations.selectors import weights
from donations.services import monthly_covered
from donations.services.refunds import RefundRefused, refund_request

logger = logging.getLogger(__name__)


class ClosureError(ValueError):
    """The case cannot be closed as asked; the message says why."""


@dataclass(frozen=True)
class Split[Key]:
    shares: dict[Key, int]  # cents per gift, only gifts that get something
    to_cause: int  # cents that go to the named cause


def _largest_remainder[K: Hashable](surplus: int, weights: list[tuple[K, int]]) -> dict[K, int]:
    total = sum(weight for _key, weight in weights)
    shares: dict[K, int] = {}
    remainders: list[tuple[int, int, K]] = []
    for index, (key, weight) in enumerate(weights):
        quota, remainder = divmod(surplus * weight, total)
        shares[key] = quota
        remainders.append((-remainder, index, key))
    missing = surplus - sum(shares.values())
    for _remainder, _index, key in sorted(remainders)[:missing]:
        shares[key] += 1
    return shares


def split_pro_rata[K: Hashable](*, surplus: int, gifts: Mapping[K, int], minimum: int) -> Split[K]:
    """Split `surplus` cents over `gifts` (cents each, in order); see the module docstring."""
    if surplus < 0 or minimum < 0 or any(w < 0 for w in gifts.values()):
        raise ValueError("Amounts cannot be negative.")
    eligible = [(key, weight) for key, weight in gifts.items() if weight > 0]
    while eligible:
        total = sum(weight for _key, weight in eligible)
        if surplus >= total:
            # Everyone can be repaid in full, except gifts under the minimum (never refunded).
            shares = {key: weight for key, weight in eligible if weight >= minimum}
            return Split(shares=shares, to_cause=surplus - sum(shares.values()))
        shares = _largest_remainder(surplus, eligible)
        kept = [(key, weight) for key, weight in eligible if shares[key] >= max(minimum, 1)]
        if len(kept) == len(eligible):
            return Split(shares={k: v for k, v in shares.items() if v > 0}, to_cause=0)
        eligible = kept
    return Split(shares={}, to_cause=surplus)


# --- Preview and closing -------------------------------------------------------------------


@dataclass(frozen=True)
class ShareLine:
    donation: Donation
    amount: Money
    online: bool


@dataclass(frozen=True)
class Preview:
    campaign: Campaign
    rule: str
    cause: str
    raised: Money
    fees: Money
    spent: Money
    recovered: Money
    surplus: Money
    lines: list[ShareLine]
    to_cause: Money

    @property
    def refunded(self) -> Money:
        return cad(sum((line.amount.amount for line in self.lines), Decimal("0")))

    @property
    def online_lines(self) -> list[ShareLine]:
        return [line for line in self.lines if line.online]

    @property
    def offline_lines(self) -> list[ShareLine]:
        return [line for line in self.lines if not line.online]


def _cents(amount: Decimal) -> int:
    return money_to_cents(cad(amount))


def surplus_preview(*, campaign: Campaign, recovered: Money) -> Preview:
    """What closing the case would do, computed from the counters and the counted gifts."""
    if recovered.amount < 0:
        raise ClosureError(_("Money recovered cannot be negative."))
    totals = selectors.campaign_totals(campaign=campaign)
    spent = cad(
        Stage.objects.filter(campaign=campaign).aggregate(total=Sum("spent"))["total"]
        or Decimal("0")
    )
    # Refunds on their way (asked from the admin, not yet confirmed by Stripe) still count in
    # `raised`; that money is already leaving, so it is neither surplus nor a gift to share on. Only
    # what the gift still adds to `raised` can leave: on a gift a dispute withdrew, not twice.
    on_the_way = weights.refunds_on_the_way(campaign=campaign)
    leaving = weights.donation_weights(
        Donation.objects.filter(weights.COUNTED, pk__in=list(on_the_way)), on_the_way=on_the_way
    )
    raised = cad(totals.raised.amount - sum((w.leaving for w in leaving.values()), Decimal("0")))
    available = raised.amount - totals.fees.amount + recovered.amount - spent.amount
    surplus = cad(max(available, Decimal("0")))
    lines: list[ShareLine] = []
    to_cause = surplus
    if campaign.surplus_rule == "refund" and surplus.amount > 0:
        donations = list(
            Donation.objects.filter(weights.COUNTED, campaign=campaign).order_by(
                "confirmed_at", "pk"
            )
        )
        by_pk = {d.pk: d for d in donations}
        weighed = weights.donation_weights(donations, on_the_way=on_the_way)
        split = split_pro_rata(
            surplus=_cents(surplus.amount),
            gifts={pk: _cents(weight.weight) for pk, weight in weighed.items()},
            minimum=_cents(campaign.surplus_minimum.amount),
        )
        lines = [
            ShareLine(
                donation=by_pk[pk],
                amount=cents_to_money(cents),
                online=by_pk[pk].channel in ONLINE_CHANNELS and bool(by_pk[pk].payment_intent_id),
            )
            for pk, cents in split.shares.items()
        ]
        to_cause = cents_to_money(split.to_cause)
    return Preview(
        campaign=campaign,
        rule=campaign.surplus_rule,
        cause=campaign.surplus_cause,
        raised=raised,
        fees=totals.fees,
        spent=spent,
        recovered=cad(recovered.amount),
        surplus=surplus,
        lines=lines,
        to_cause=to_cause,
    )


def case_close(
    *, campaign: Campaign, recovered: Money, expected_surplus: Money, user: Any = None
) -> CaseClosure:
    """Close the case as previewed; refunds go out in a task. Refuses a stale preview."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if CaseClosure.objects.filter(campaign=locked).exists():
            raise ClosureError(_("This case is already closed."))
        # Monthly gifts stop first (cancelled at period end through Stripe, queued before the
        # refunds): nothing more is charged, and the renewals already paid share the surplus.
        monthly_covered.closure_stop_all(campaign_id=locked.pk)
        preview = surplus_preview(campaign=locked, recovered=recovered)
        if preview.surplus != cad(expected_surplus.amount):
            raise ClosureError(
                _("The totals changed since the preview: check the new preview, then confirm.")
            )
        if preview.rule == "cause" and not preview.cause and preview.surplus.amount > 0:
            raise ClosureError(_("Name the cause that receives the surplus first."))
        pending = bool(preview.online_lines)
        closure = CaseClosure.objects.create(
            campaign=locked,
            rule=preview.rule,
            cause=preview.cause,
            raised=preview.raised,
            fees=preview.fees,
            spent=preview.spent,
            recovered=preview.recovered,
            surplus=preview.surplus,
            refunded=preview.refunded,
            given=preview.to_cause,
            state=ClosureState.REFUNDING if pending else ClosureState.DONE,
            closed_by=user.get_username() if user is not None else "",
        )
        SurplusShare.objects.bulk_create(
            SurplusShare(
                closure=closure,
                donation=line.donation,
                amount=line.amount,
                state=ShareState.PENDING if line.online else ShareState.MANUAL,
            )
            for line in preview.lines
        )
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        audit_record(
            user=user,
            action=MoneyAction.CASE_CLOSURE,
            obj=closure,
            detail={
                "rule": preview.rule,
                "surplus": preview.surplus.amount,
                "refunded": preview.refunded.amount,
                "given": preview.to_cause.amount,
            },
        )
        closure_id = closure.pk
        if pending:
            # robust: the closure stands with the broker down; `work_sweep` sends the shares.
            jobs.enqueue("donations.tasks.refund_surplus", closure_id)
        return closure


def share_refund(*, share_id: int) -> SurplusShare:
    """Ask for one share's refund, once, through the same path as the admin's refunds.

    `refund_request` records a `Refund` (so a refund already on its way is never
    exceeded) and its task sends it to Stripe with the refund's idempotency key; the campaign's
    totals move when Stripe confirms it (charge.refunded), as for any refund. A share Stripe
    cannot take (no payment to refund, nothing left to refund) is kept as failed, with the reason.
    """
    with transaction.atomic():
        share = (
            SurplusShare.objects.select_for_update(of=("self",))
            .select_related("donation", "closure")
            .get(pk=share_id)
        )
        if share.state != ShareState.PENDING:
            return share
        try:
            share.refund = refund_request(
                donation=share.donation,
                amount=share.amount,
                reason=_("Share of the surplus when the case closed"),
            )
            share.state = ShareState.REQUESTED
        except RefundRefused as error:
            logger.warning("Surplus share %s not refunded: %s", share.pk, error)
            share.state, share.error = ShareState.FAILED, str(error)[:500]
        share.save()
        # The closure's own record of each refund it asked for (or could not), beside the refund's.
        audit_record(
            user=None,
            action=MoneyAction.CASE_CLOSURE,
            obj=share.closure,
            detail={
                "share": share.pk,
                "donation": share.donation_id,
                "amount": share.amount.amount,
                "outcome": share.state,
                "refund": share.refund_id,
                "error": share.error,
            },
        )
        return share


def closure_outcomes(*, closure_id: int) -> dict[str, int]:
    """How many shares ended how: pending, sent, confirmed, failed, manual (offline)."""
    counts: dict[str, int] = {}
    for share in SurplusShare.objects.filter(closure_id=closure_id).select_related("refund"):
        counts[share.outcome] = counts.get(share.outcome, 0) + 1
    return counts


def closure_refund_all(*, closure_id: int) -> dict[str, int]:
    """Request every pending share's refund; the closure is done once none is left pending."""
    ids = list(
        SurplusShare.objects.filter(closure_id=closure_id, state=ShareState.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for share_id in ids:
        share_refund(share_id=share_id)
    if not SurplusShare.objects.filter(closure_id=closure_id, state=ShareState.PENDING).exists():
        CaseClosure.objects.filter(pk=closure_id).update(state=ClosureState.DONE)
    return closure_outcomes(closure_id=closure_id)
