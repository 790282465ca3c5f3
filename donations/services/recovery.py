"""Recovering what webhooks and tasks missed: the periodic sweep and reconciliation with Stripe.

- `events_sweep` processes stored events whose task was lost (broker down at enqueue time, worker
  killed mid-task). Processing is idempotent, so an event the sweep and its task both handle still
  counts once.
- `reconcile` asks Stripe for recent events and Checkout Sessions and applies whatever the site
  missed (a webhook endpoint down for a day, a deleted endpoint), then expires pending donations
  whose Checkout Session can no longer be paid.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from core import jobs
from donations import gateway
from donations.models import (
    CaseClosure,
    Channel,
    ClosureState,
    Donation,
    DonationState,
    EventStatus,
    Refund,
    RefundStatus,
    StripeEvent,
)
from donations.services.checkout import donation_expire, donation_fulfil
from donations.services.ledger import DonationNotFound, is_uuid
from donations.services.stripe_events import HANDLERS, event_process, event_record

logger = logging.getLogger(__name__)

SWEEP_MAX_ATTEMPTS = 20
SWEEP_BATCH = 500
# Checkout Sessions expire after 24 hours; an hour's margin lets a late completion land first.
EXPIRY_MARGIN_SECONDS = 3600
RECONCILE_STATES = (
    DonationState.PENDING,
    DonationState.PROCESSING,
    DonationState.CANCELLED,
    DonationState.EXPIRED,
    DonationState.FAILED,
)


def events_sweep(*, older_than_seconds: int = 60, batch: int = SWEEP_BATCH) -> int:
    """Process stored events still `received` or `failed`; returns how many were tried.

    One bad event (a payload we cannot read) is recorded as failed and the sweep goes on; a
    database outage stops the sweep, which runs again a minute later.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        StripeEvent.objects.filter(
            status__in=(EventStatus.RECEIVED, EventStatus.FAILED),
            received_at__lte=cutoff,
            attempts__lt=SWEEP_MAX_ATTEMPTS,
        )
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[:batch]
    )
    for event_id in ids:
        try:
            event_process(event_id=event_id)
        except DatabaseError:
            raise
        except Exception as error:  # an unexpected payload must not block the events behind it
            logger.exception("Sweep could not process Stripe event %s", event_id)
            StripeEvent.objects.filter(pk=event_id).update(
                status=EventStatus.FAILED,
                attempts=F("attempts") + 1,
                error=f"{type(error).__name__}: {error}"[:2000],
            )
    return len(ids)


# Work older than this whose task should have run lost it (broker down at enqueue time); work
# older than WORK_GIVE_UP is left to the admin (a receipt or fee nobody could get for days).
WORK_STALE_SECONDS = 120
WORK_GIVE_UP = timedelta(days=3)


def work_sweep(*, older_than_seconds: int = WORK_STALE_SECONDS) -> dict[str, int]:
    """Queue again what a lost enqueue left behind: receipts, refunds, surplus shares, fees.

    Every task it queues is idempotent (row locks and idempotency keys), so work whose task is
    merely slow is safe to queue twice. With the broker still down nothing is queued (logged by
    `core.jobs`); beat runs the sweep again a minute later.
    """

    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    since = now - WORK_GIVE_UP
    receipts = list(
        Donation.objects.filter(
            state=DonationState.CONFIRMED,
            flag="",
            receipt_sent_at__isnull=True,
            confirmed_at__lte=cutoff,
            confirmed_at__gte=since,
        )
        .exclude(email="")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for donation_id in receipts:
        jobs.send("donations.tasks.send_receipt", donation_id)
    refunds = list(
        Refund.objects.filter(status=RefundStatus.REQUESTED, created_at__lte=cutoff).values_list(
            "pk", flat=True
        )[:SWEEP_BATCH]
    )
    for refund_id in refunds:
        jobs.send("donations.tasks.submit_refund", refund_id)
    closures = list(
        CaseClosure.objects.filter(state=ClosureState.REFUNDING).values_list("pk", flat=True)
    )
    for closure_id in closures:
        jobs.send("donations.tasks.refund_surplus", closure_id)
    fees: list[int] = []
    if gateway.channel() == Channel.STRIPE:  # only Stripe reports fees
        fees = list(
            Donation.objects.filter(
                channel=Channel.STRIPE,
                state__in=(DonationState.CONFIRMED, DonationState.REFUNDED),
                flag="",
                fee=0,
                confirmed_at__lte=cutoff,
                confirmed_at__gte=since,
            )
            .exclude(payment_intent_id="")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
    for donation_id in fees:
        jobs.send("donations.tasks.fetch_fee", donation_id)
    return {
        "receipts": len(receipts),
        "refunds": len(refunds),
        "closures": len(closures),
        "fees": len(fees),
    }


@dataclass
class ReconcileReport:
    events_seen: int = 0
    events_recovered: int = 0
    sessions_fulfilled: int = 0
    donations_expired: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def reconcile(*, lookback_seconds: int = 72 * 3600, now: datetime | None = None) -> ReconcileReport:
    """Apply events and completed sessions from the last `lookback_seconds` that the site missed.

    Raises `gateway.GatewayError` when Stripe cannot be reached: nothing is changed then.
    """
    now = now or timezone.now()
    since = int(now.timestamp()) - lookback_seconds
    report = ReconcileReport()
    for payload in reversed(gateway.events_list(types=list(HANDLERS), created_after=since)):
        report.events_seen += 1
        with transaction.atomic():
            event, created = event_record(payload=payload, headers={"Source": "reconciliation"})
        if created:
            report.events_recovered += 1
            logger.warning(
                "Reconciliation recovered missed event %s (%s)", event.stripe_id, event.type
            )
        if event.status in (EventStatus.RECEIVED, EventStatus.FAILED):
            event_process(event_id=event.pk)

    for result in gateway.checkout_sessions_list(created_after=since):
        if result.payment_status not in ("paid", "no_payment_required"):
            continue
        donation = _donation_for(result)
        if donation is None or donation.flag or donation.state not in RECONCILE_STATES:
            continue
        try:
            donation_fulfil(result=result)
        except DonationNotFound:
            continue
        report.sessions_fulfilled += 1
        logger.warning("Reconciliation fulfilled donation %s from its session", donation.pk)

    report.donations_expired = donations_expire_stale(now=now)
    return report


def _donation_for(result: gateway.CheckoutResult) -> Donation | None:
    query = Donation.objects.all()
    if is_uuid(result.donation_ref):
        found = query.filter(public_id=result.donation_ref).first()
        if found is not None:
            return found
    if result.session_id:
        return query.filter(checkout_session_id=result.session_id).first()
    return None


def donations_expire_stale(*, now: datetime | None = None) -> int:
    """Expire pending donations whose Checkout Session has expired (or never opened).

    A session Stripe still reports as paid is fulfilled instead: a payment is never lost. When
    Stripe cannot be asked, the donation stays pending for the next run.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=gateway.CHECKOUT_EXPIRY_SECONDS + EXPIRY_MARGIN_SECONDS)
    expired = 0
    stale = Donation.objects.filter(state=DonationState.PENDING, created_at__lt=cutoff)
    for donation in stale.order_by("created_at")[:1000]:
        result = gateway.CheckoutResult(
            session_id=donation.checkout_session_id,
            payment_status="unpaid",
            amount_total=None,
            currency="",
            donation_ref=str(donation.public_id),
        )
        if donation.checkout_session_id:
            try:
                result = gateway.checkout_session_retrieve(session_id=donation.checkout_session_id)
            except gateway.GatewayError as error:
                logger.warning("Could not check session of donation %s: %s", donation.pk, error)
                if "No such" not in str(error):
                    continue
            if result.payment_status in ("paid", "no_payment_required") or (
                result.payment_status == "unpaid" and _session_complete(result)
            ):
                donation_fulfil(result=result)
                continue
        updated = donation_expire(result=result)
        expired += int(updated.state == DonationState.EXPIRED)
    return expired


def _session_complete(result: gateway.CheckoutResult) -> bool:
    # CheckoutResult carries no session status; an unpaid session with a payment intent was
    # completed with a delayed method and must wait for its async result, not expire.
    return bool(result.payment_intent_id)
