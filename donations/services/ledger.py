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

from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.utils import timezone
from djmoney.money import Money

from audit.models import MoneyAction
from audit.services import audit_record
from campaign import services as campaign_services
from campaign.models import Campaign
from core import jobs
from core.money import CURRENCY, cad, goal_percent
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
    Refund,
    RefundStatus,
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


def _update_or_create(model: type[Model], keys: dict[str, Any], updates: dict[str, Any]) -> None:
    """Move a counter row by `updates` (F() expressions), creating it (zeroed) the first time.

    The row nearly always exists: one UPDATE, where get_or_create first would cost a SELECT too on
    every counted gift (and a SAVEPOINT, INSERT and RELEASE the first time either way).
    """
    if model._default_manager.filter(**keys).update(**updates):
        return
    model._default_manager.get_or_create(**keys)
    model._default_manager.filter(**keys).update(**updates)


def _totals_apply(*, donation: Donation, before: Contribution, after: Contribution) -> None:
    deltas = {
        f.name: getattr(after, f.name) - getattr(before, f.name) for f in fields(Contribution)
    }
    if not any(deltas.values()):
        return
    donor_delta = _donor_delta(donation=donation, change=deltas["donations"])
    updates: dict[str, Any] = {}
    for name in ("gross", "refunded", "disputed", "fees", "offline"):
        if deltas[name]:
            updates[name] = F(name) + Money(deltas[name], CURRENCY)
    if deltas["donations"]:
        updates["donation_count"] = F("donation_count") + deltas["donations"]
    if donor_delta:
        updates["donor_count"] = F("donor_count") + donor_delta
    updates["updated_at"] = timezone.now()
    _update_or_create(CampaignTotals, {"campaign_id": donation.campaign_id}, updates)
    _rollups_apply(donation=donation, before=before, after=after, deltas=deltas)


def _donor_delta(*, donation: Donation, change: int) -> int:
    """How the distinct-donor count moves when this donation starts or stops counting."""
    if not change:
        return 0
    if not donation.donor_key:
        return change
    keys: dict[str, Any] = {"campaign_id": donation.campaign_id, "donor_key": donation.donor_key}
    row = DonorTally.objects.select_for_update().filter(**keys).values_list("pk", "counted").first()
    if row is None and change > 0:
        # A new donor (most gifts in a rush): one INSERT; a concurrent first gift of the same
        # donor makes it fail, and the row is then locked and moved like any other.
        try:
            with transaction.atomic():
                DonorTally.objects.create(**keys, counted=change)
            return 1
        except IntegrityError:
            pass
    if row is None:
        tally, _ = DonorTally.objects.get_or_create(**keys)
        row = DonorTally.objects.select_for_update().values_list("pk", "counted").get(pk=tally.pk)
    pk, old = row
    new = max(old + change, 0)
    DonorTally.objects.filter(pk=pk).update(counted=new)
    return int(new > 0) - int(old > 0)


RELEASED_PLEDGE_FLAG = (
    "Paid after its pledge was released: not counted, refunded automatically (Refunds below)."
)


def donation_change(donation: Donation, mutate: Callable[[Donation], None]) -> Donation:
    """Apply `mutate` to a locked donation and move the campaign totals by the difference."""
    before = donation.contribution()
    was_confirmed = donation.state == DonationState.CONFIRMED
    mutate(donation)
    unwanted = False
    if donation.is_counted and before == Contribution():
        # A payment for a pledge already released (its Checkout paid in the moment before it was
        # expired) is never kept: flagged out of the totals and given back.
        unwanted = _pledge_mark_paid(donation_id=donation.pk) == "released"
        if unwanted:
            donation.flag = RELEASED_PLEDGE_FLAG
    donation.save()
    if unwanted:
        refund_unwanted_payment(
            donation=donation,
            payment_intent_id="",
            amount=donation.amount,
            reason=RELEASED_PLEDGE_FLAG,
        )
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


def _pledge_mark_paid(*, donation_id: int) -> str:
    """A pledge behind a donation that starts counting is charged, whatever path paid it (the
    off-session charge's webhook, or the pledger finishing on Checkout after SCA or a decline).

    Returns "released" when the pledge had been released or cancelled: that payment is unwanted.
    """
    state = (
        Pledge.objects.select_for_update()
        .filter(donation_id=donation_id)
        .values_list("state", flat=True)
        .first()
    )
    if state is None:
        return ""
    if state in (PledgeState.RELEASED, PledgeState.CANCELLED):
        return "released"
    if state != PledgeState.CHARGED:
        Pledge.objects.filter(donation_id=donation_id).update(
            state=PledgeState.CHARGED, charged_at=timezone.now(), last_error=""
        )
    return "charged"


def refund_unwanted_payment(
    *, donation: Donation, payment_intent_id: str, amount: Money, reason: str
) -> Refund | None:
    """Give back a payment the campaign must not keep (a released pledge's, a second payment).

    A refund row like the admin's (sent by `submit_refund`, swept by `work_sweep` if the broker is
    down), once per payment, in the audit log as the system's. `payment_intent_id` names the
    payment when it is not the donation's own. Call with the donation locked.
    """
    existing = (
        Refund.objects.filter(donation=donation, payment_intent_id=payment_intent_id)
        .exclude(status__in=(RefundStatus.FAILED, RefundStatus.CANCELED))
        .filter(reason=reason[:500])
    )
    if existing.exists():
        return None
    refund = Refund.objects.create(
        donation=donation,
        amount=cad(amount.amount),
        reason=reason[:500],
        payment_intent_id=payment_intent_id,
    )
    audit_record(
        user=None,
        action=MoneyAction.REFUND,
        obj=donation,
        detail={
            "amount": refund.amount.amount,
            "reason": refund.reason,
            "refund": refund.pk,
            "automatic": True,
            "payment_intent": payment_intent_id or donation.payment_intent_id,
        },
    )
    logger.warning("Donation %s: %s", donation.pk, reason)
    jobs.enqueue("donations.tasks.submit_refund", refund.pk)
    return refund


def milestones_check(*, campaign_id: int) -> list[int]:
    """Prepare a draft update for each milestone the campaign's total has now crossed.

    Run after every counted gift, so it reads the counter row alone: the page's totals
    (`selectors.campaign_totals`) also sum the monthly gifts, and were a third of an event's cost.
    """
    campaign = Campaign.objects.only("community_goal", "community_goal_currency").get(
        pk=campaign_id
    )
    row = CampaignTotals.objects.filter(campaign_id=campaign_id).first()
    raised = row.raised.amount if row is not None else Decimal("0")
    percent = goal_percent(raised, campaign.community_goal.amount)
    return campaign_services.milestone_drafts_prepare(campaign=campaign, percent=percent)


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
    # Plain decimals: the rollup's manager is Django's own (django-money's wrapper is not needed).
    updates: dict[str, Any] = {
        name: F(name) + Decimal(deltas[name])
        for name in ("gross", "refunded", "disputed", "fees", "offline")
        if deltas[name]
    }
    if deltas["donations"]:
        updates["donation_count"] = F("donation_count") + deltas["donations"]
    if updates:
        _update_or_create(DailyRollup, {"campaign_id": donation.campaign_id, "day": day}, updates)
    kept_before = before.gross - before.refunded if before.donations else None
    kept_after = after.gross - after.refunded if after.donations else None
    if kept_before != kept_after:
        if kept_before is not None:
            _tally_move(campaign_id=donation.campaign_id, amount=kept_before, change=-1)
        if kept_after is not None:
            _tally_move(campaign_id=donation.campaign_id, amount=kept_after, change=1)


def _tally_move(*, campaign_id: int, amount: Decimal, change: int) -> None:
    _update_or_create(
        AmountTally, {"campaign_id": campaign_id, "amount": amount}, {"count": F("count") + change}
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
