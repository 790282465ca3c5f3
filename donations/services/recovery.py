"""Recovering what webhooks and tasks missed: the periodic sweep and reconciliation with Stripe.

- `events_sweep` processes stored events whose task was lost (broker down at enqueue time, worker
  killed mid-task). Processing is idempotent, so an event the sweep and its task both handle still
  counts once.
- `reconcile` asks Stripe for every event and Checkout Session since its last successful run and
  applies whatever the site missed (a webhook endpoint down for a day or a month, a deleted
  endpoint), then expires pending donations whose Checkout Session can no longer be paid.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import F, Q
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
    ReconcileCursor,
    Refund,
    RefundStatus,
    StripeEvent,
)
from donations.services.checkout import donation_expire, donation_fulfil
from donations.services.fees import FEE_MAX_ATTEMPTS
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


def work_sweep(
    *, older_than_seconds: int = WORK_STALE_SECONDS, now: datetime | None = None
) -> dict[str, int]:
    """Queue again what a lost enqueue left behind: receipts, refunds, surplus shares, fees.

    Every task it queues is idempotent (row locks and idempotency keys), so work whose task is
    merely slow is safe to queue twice. With the broker still down nothing is queued (logged by
    `core.jobs`); beat runs the sweep again a minute later.
    """

    now = now or timezone.now()
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
        # Each unanswered request doubles the wait (`fees.fee_attempt_record`); after the last
        # one the organizer is told and the sweep stops asking.
        fees = list(
            Donation.objects.filter(
                Q(fee_retry_at__isnull=True) | Q(fee_retry_at__lte=now),
                channel=Channel.STRIPE,
                state__in=(DonationState.CONFIRMED, DonationState.REFUNDED),
                flag="",
                fee=0,
                fee_attempts__lt=FEE_MAX_ATTEMPTS,
                confirmed_at__lte=cutoff,
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


CURSOR_NAME = "stripe-events"
# Without a cursor yet (the first run), reconciliation looks this far back.
FIRST_LOOKBACK_SECONDS = 72 * 3600
# Each run starts a little before the newest event the last one read: an event Stripe lists a
# moment late is still seen (stored events are recognised by their id, so rereading is harmless).
CURSOR_OVERLAP_SECONDS = 300


def _since(*, now: datetime, lookback_seconds: int | None) -> int:
    """Where a run starts: the last successful run's cursor (less the overlap), however long ago;
    with `lookback_seconds`, at least that far back; the first run looks back 72 hours."""
    now_ts = int(now.timestamp())
    cursor = ReconcileCursor.objects.filter(name=CURSOR_NAME).first()
    if cursor is None:
        return now_ts - (lookback_seconds or FIRST_LOOKBACK_SECONDS)
    since = cursor.event_created - CURSOR_OVERLAP_SECONDS
    if lookback_seconds:
        since = min(since, now_ts - lookback_seconds)
    return since


def reconcile(
    *, lookback_seconds: int | None = None, now: datetime | None = None
) -> ReconcileReport:
    """Apply every event and completed session since the last successful run that the site
    missed, however long the webhooks were down: Stripe's lists are read page after page to the
    end (no cap), events stored as they are read and applied oldest first.

    The cursor (the newest event read) is saved only when the whole run completes; a run cut
    short by `gateway.GatewayError` (raised: Stripe could not be reached) leaves it where it
    was, so the next run reads the same stretch again (events already stored are not redone).
    """
    now = now or timezone.now()
    since = _since(now=now, lookback_seconds=lookback_seconds)
    report = ReconcileReport()
    newest: tuple[int, str] | None = None
    to_process: list[tuple[int, int]] = []
    for payload in gateway.events_list(types=list(HANDLERS), created_after=since):
        report.events_seen += 1
        created_at = int(payload.get("created") or 0)
        if newest is None or created_at > newest[0]:
            newest = (created_at, str(payload.get("id") or ""))
        with transaction.atomic():
            event, created = event_record(payload=payload, headers={"Source": "reconciliation"})
        if created:
            report.events_recovered += 1
            logger.warning(
                "Reconciliation recovered missed event %s (%s)", event.stripe_id, event.type
            )
        if event.status in (EventStatus.RECEIVED, EventStatus.FAILED):
            to_process.append((created_at, event.pk))
    for _, event_id in sorted(to_process):  # oldest first, as Stripe sent them
        event_process(event_id=event_id)

    sessions_since = since - gateway.CHECKOUT_EXPIRY_SECONDS  # a session is paid up to 24h on
    for result in gateway.checkout_sessions_list(created_after=sessions_since):
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
    _cursor_save(newest=newest, since=since, now=now)
    return report


def _cursor_save(*, newest: tuple[int, str] | None, since: int, now: datetime) -> None:
    """The run completed: the next starts from the newest event it read (never moving back)."""
    with transaction.atomic():
        cursor = ReconcileCursor.objects.select_for_update().filter(name=CURSOR_NAME).first()
        if cursor is None:
            created, event_id = newest or (since + CURSOR_OVERLAP_SECONDS, "")
            ReconcileCursor.objects.create(
                name=CURSOR_NAME, event_created=created, event_id=event_id, completed_at=now
            )
            return
        if newest is not None and newest[0] >= cursor.event_created:
            cursor.event_created, cursor.event_id = newest
        cursor.completed_at = now
        cursor.save()


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
