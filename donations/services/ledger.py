"""The money choke point: every change of a donation moves its campaign's totals, daily
rollup and amount tally by the difference, in the same transaction, with the donation row locked.

Nothing else writes `CampaignTotals`, `DailyRollup`, `AmountTally` or `DonorTally`, so a payment is
counted once whichever caller (webhook, success page, reconciliation, admin) comes first.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from djmoney.money import Money

from campaign import services as campaign_services
from campaign.models import Campaign
from core import jobs
from core.money import CURRENCY, cad
from donations import selectors
from donations.models import (
    AmountTally,
    CampaignTotals,
    Channel,
    Contribution,
    DailyRollup,
    Donation,
    DonationState,
    DonorTally,
    Pledge,
    PledgeState,
)
from donations.services import monthly_covered

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


def donation_change(donation: Donation, mutate: Callable[[Donation], None]) -> Donation:
    """Apply `mutate` to a locked donation and move the campaign totals by the difference."""
    before = donation.contribution()
    was_confirmed = donation.state == DonationState.CONFIRMED
    mutate(donation)
    donation.save()
    if donation.is_counted and before == Contribution():
        _pledge_mark_paid(donation_id=donation.pk)
    after = donation.contribution()
    _totals_apply(donation=donation, before=before, after=after)
    if (
        donation.channel == Channel.STRIPE
        and after.gross > before.gross
        and not donation.fee.amount
        and donation.payment_intent_id
    ):
        # Not knowing Stripe's fee yet never undoes or hides a payment; `work_sweep` asks again.
        jobs.enqueue("donations.tasks.fetch_fee", donation.pk)
    if after.gross > before.gross:
        campaign_id = donation.campaign_id
        # robust: a milestone draft that cannot be written must never undo or hide a payment.
        transaction.on_commit(lambda: milestones_check(campaign_id=campaign_id), robust=True)
        # The goal met: "until covered" monthly gifts stop (each claimed once, however many gifts
        # cross it together).
        transaction.on_commit(
            lambda: monthly_covered.covered_check(campaign_id=campaign_id), robust=True
        )
    if (
        donation.state == DonationState.CONFIRMED
        and not was_confirmed
        and donation.email
        and donation.receipt_sent_at is None
    ):
        # With the broker down the payment still counts; `work_sweep` sends the receipt later.
        jobs.enqueue("donations.tasks.send_receipt", donation.pk)
    return donation


def _pledge_mark_paid(*, donation_id: int) -> int:
    """A pledge behind a donation that starts counting is charged, whatever path paid it (the
    off-session charge's webhook, or the pledger finishing on Checkout after SCA or a decline)."""
    return (
        Pledge.objects.filter(donation_id=donation_id)
        .exclude(state=PledgeState.CHARGED)
        .update(state=PledgeState.CHARGED, charged_at=timezone.now(), last_error="")
    )


def milestones_check(*, campaign_id: int) -> list[int]:
    """Prepare a draft update for each milestone the campaign's total has now crossed."""
    campaign = Campaign.objects.get(pk=campaign_id)
    totals = selectors.campaign_totals(campaign=campaign)
    return campaign_services.milestone_drafts_prepare(campaign=campaign, percent=totals.percent)


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def donation_locked(
    *, donation_ref: str = "", session_id: str = "", payment_intent_id: str = ""
) -> Donation:
    query = Donation.objects.select_for_update()
    donation = None
    if is_uuid(donation_ref):
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
