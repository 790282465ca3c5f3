"""Releasing a pledge (its open Checkouts expired, its card detached) and its emails, once each.

Re-exported by `donations.services.pledges`."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from donations import gateway
from donations.models import Donation, Pledge, PledgeState

logger = logging.getLogger("donations.services.pledges")


def pledge_checkouts_expire(*, pledge: Pledge) -> dict[str, str]:
    """Expire the Checkout Sessions an ended pledge opened (the card's, and the payment page of a
    pledger asked to authenticate), so nothing can be paid through them after its release.

    Returns each session's status afterwards. A session paid in the moment before is "complete":
    its payment arrives by webhook and is refunded (`ledger.donation_change`). Raises
    `GatewayError` (the release task retries).
    """
    # A saved card means the setup session completed: only an unfinished one can still be open.
    sessions = [pledge.checkout_session_id if not pledge.payment_method_id else ""]
    donation = (
        Donation.objects.filter(pk=pledge.donation_id).first() if pledge.donation_id else None
    )
    if donation is not None and not donation.is_counted:
        sessions.append(donation.checkout_session_id)
    statuses = {}
    for session_id in filter(None, sessions):
        statuses[session_id] = gateway.checkout_session_expire(session_id=session_id)
        if session_id != pledge.checkout_session_id and statuses[session_id] == "complete":
            logger.warning(
                "Pledge %s: its Checkout %s was paid before it could be expired; the payment is "
                "refunded when it arrives.",
                pledge.pk,
                session_id,
            )
    return statuses


def pledge_detach(*, pledge_id: int) -> bool:
    """Detach the saved card of an ended pledge, once, its open Checkout Sessions expired first."""
    pledge = Pledge.objects.get(pk=pledge_id)
    if pledge.detached_at is not None or pledge.state not in (
        PledgeState.CANCELLED,
        PledgeState.RELEASED,
    ):
        return False
    if pledge.payment_intent_id:
        # An unfinished attempt (authentication or decline) must not be completable any more.
        gateway.payment_intent_cancel(payment_intent_id=pledge.payment_intent_id)
    pledge_checkouts_expire(pledge=pledge)
    gateway.payment_method_detach(payment_method_id=pledge.payment_method_id)
    return bool(
        Pledge.objects.filter(pk=pledge_id, detached_at__isnull=True).update(
            detached_at=timezone.now()
        )
    )


EMAIL_STAMP = {
    "confirmed": "confirmation_sent_at",
    "action": "outcome_sent_at",
    "declined": "declined_sent_at",
    "released": "released_sent_at",
}


def pledge_email_once(*, pledge_id: int, kind: str, send: object) -> bool:
    """Send one pledge email at most once; the row lock keeps two workers from both sending."""
    stamp = EMAIL_STAMP[kind]
    with transaction.atomic():
        pledge = (
            Pledge.objects.select_for_update(of=("self",))
            .select_related("stage__campaign", "donation")
            .get(pk=pledge_id)
        )
        if getattr(pledge, stamp) is not None or not pledge.email:
            return False
        send(pledge, kind)  # type: ignore[operator]
        setattr(pledge, stamp, timezone.now())
        pledge.save(update_fields=[stamp])
        return True
