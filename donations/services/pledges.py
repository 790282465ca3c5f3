"""Writes for case stages and contingent pledges.

A pledge saves a card (Checkout in setup mode) and is charged off session only if the admin
activates its stage. Charging is a state machine on the pledge row, each step under a row lock:

    setup → pledged → charging → charged | needs_action | failed
                    ↘ cancelled (by the pledger) | released (stage cancelled, target missed)

The Stripe call happens between two short transactions, with an idempotency key derived from the
pledge: a task retried or redelivered after a worker died finds the pledge still `charging` and
repeats the very same request, which Stripe answers from its idempotency store instead of charging
again. The money counts only when the payment_intent.succeeded webhook fulfils the pledge's donation
through `donation_fulfil`, like any other gift.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from audit.models import MoneyAction
from audit.services import audit_record
from campaign.models import Stage, StageState
from core import jobs
from core.money import cad
from donations import gateway
from donations.models import PLEDGE_OPEN_STATES, Donation, Pledge, PledgeState
from donations.services.checkout import checkout_begin, donation_fulfil
from donations.services.ledger import DonationNotFound, is_uuid
from donations.services.pledge_release import EMAIL_STAMP as EMAIL_STAMP
from donations.services.pledge_release import pledge_checkouts_expire as pledge_checkouts_expire
from donations.services.pledge_release import pledge_detach as pledge_detach
from donations.services.pledge_release import pledge_email_once as pledge_email_once

logger = logging.getLogger(__name__)

CANCEL_SALT = "donations.pledge.cancel"
PAY_SALT = "donations.pledge.pay"


class PledgeError(ValueError):
    """A pledge or stage action that is not allowed now; the message says why."""


# --- Signed links --------------------------------------------------------------------------


def pledge_token(*, pledge: Pledge, salt: str) -> str:
    """A link token naming one pledge, signed with SECRET_KEY: no login needed, not guessable."""
    return signing.dumps(str(pledge.public_id), salt=salt)


def pledge_token_valid(*, pledge: Pledge, token: str, salt: str) -> bool:
    try:
        return bool(signing.loads(token, salt=salt) == str(pledge.public_id))
    except signing.BadSignature:
        return False


# --- Pledging ------------------------------------------------------------------------------


def stage_pledged_total(*, stage: Stage) -> Money:
    total = Pledge.objects.filter(stage=stage, state__in=PLEDGE_OPEN_STATES).aggregate(
        total=Sum("amount")
    )["total"]
    return cad(total or Decimal("0"))


def pledge_start(
    *,
    stage: Stage,
    amount: Money,
    email: str,
    display_name: str = "",
    anonymous: bool = False,
    show_amount: bool = False,
    language: str = "en",
) -> Pledge:
    """Record a pledge waiting for its card; it promises nothing until the card is saved."""
    if not stage.takes_pledges:
        raise PledgeError(_("This stage does not take pledges."))
    if not stage.campaign.is_active:
        raise PledgeError(_("This campaign no longer accepts pledges."))
    low, high = Decimal(settings.DONATION_MIN_CAD), Decimal(settings.DONATION_MAX_CAD)
    if not low <= amount.amount <= high:
        raise PledgeError(
            _("A pledge is between %(low)s and %(high)s CAD.") % {"low": low, "high": high}
        )
    return Pledge.objects.create(
        stage=stage,
        amount=cad(amount.amount),
        email=email.strip(),
        display_name="" if anonymous else display_name.strip(),
        anonymous=anonymous,
        show_amount=show_amount,
        language=language,
    )


def pledge_setup_begin(
    *, pledge: Pledge, success_url: str, cancel_url: str, locale: str = "auto"
) -> gateway.CheckoutRedirect:
    """Create the Stripe customer and open Checkout in setup mode. Raises `GatewayError`."""
    ref = str(pledge.public_id)
    customer_id = pledge.customer_id or gateway.customer_create(pledge_ref=ref, email=pledge.email)
    redirect = gateway.setup_session_create(
        pledge_ref=ref,
        customer_id=customer_id,
        campaign_slug=pledge.stage.campaign.slug,
        success_url=success_url,
        cancel_url=cancel_url,
        locale=locale,
    )
    Pledge.objects.filter(pk=pledge.pk).update(
        customer_id=customer_id, checkout_session_id=redirect.session_id
    )
    pledge.customer_id, pledge.checkout_session_id = customer_id, redirect.session_id
    return redirect


@transaction.atomic
def pledge_setup_complete(*, result: gateway.SetupResult) -> Pledge:
    """The card is saved: the pledge stands. Called by the webhook, the return page and the demo."""
    query = Pledge.objects.select_for_update(of=("self",)).select_related("stage")
    pledge = None
    if is_uuid(result.pledge_ref):
        pledge = query.filter(public_id=result.pledge_ref).first()
    if pledge is None and result.session_id:
        pledge = query.filter(checkout_session_id=result.session_id).first()
    if pledge is None:
        raise DonationNotFound(f"No pledge for {result.pledge_ref!r}")
    if not result.complete or not result.payment_method_id:
        return pledge
    if pledge.state in (PledgeState.RELEASED, PledgeState.CANCELLED) and not (
        pledge.payment_method_id
    ):
        # Released while the member was still on Checkout: the card saved after must go too.
        pledge.payment_method_id = result.payment_method_id
        pledge.detached_at = None
        pledge.save()
        ended_id = pledge.pk
        jobs.enqueue("donations.tasks.release_pledge", ended_id, False)
        return pledge
    if pledge.state != PledgeState.SETUP:
        return pledge
    pledge.customer_id = result.customer_id or pledge.customer_id
    pledge.payment_method_id = result.payment_method_id
    pledge.pledged_at = timezone.now()
    pledge_id = pledge.pk
    if pledge.stage.state != StageState.POSSIBLE or pledge.stage.deadline_missed_at:
        # The stage was settled while the member was on Checkout: let the card go at once.
        pledge.state = PledgeState.RELEASED
        pledge.ended_at = timezone.now()
        pledge.save()
        jobs.enqueue("donations.tasks.release_pledge", pledge_id)
        return pledge
    pledge.state = PledgeState.PLEDGED
    pledge.save()
    jobs.enqueue("donations.tasks.send_pledge_email", pledge_id, "confirmed")
    return pledge


@transaction.atomic
def pledge_setup_expired(*, session_id: str, pledge_ref: str) -> Pledge:
    """Checkout in setup mode expired before a card was saved: nothing was promised or paid, so
    nothing changes (a `checkout.session.expired` about a pledge is applied, not failed)."""
    query = Pledge.objects.select_for_update()
    pledge = query.filter(public_id=pledge_ref).first() if is_uuid(pledge_ref) else None
    if pledge is None and session_id:
        pledge = query.filter(checkout_session_id=session_id).first()
    if pledge is None:
        raise DonationNotFound(f"No pledge for {pledge_ref!r} session={session_id!r}")
    return pledge


@transaction.atomic
def pledge_cancel(*, pledge: Pledge) -> Pledge:
    """The pledger withdraws before the stage starts; the saved card is detached."""
    locked = Pledge.objects.select_for_update().get(pk=pledge.pk)
    if locked.state not in (PledgeState.SETUP, PledgeState.PLEDGED):
        raise PledgeError(_("This pledge can no longer be cancelled: its stage has started."))
    locked.state = PledgeState.CANCELLED
    locked.ended_at = timezone.now()
    locked.save()
    pledge_id = locked.pk
    jobs.enqueue("donations.tasks.release_pledge", pledge_id, False)
    return locked


# --- Charging --------------------------------------------------------------------------------


def stage_pledges_to_charge(*, stage_id: int) -> list[int]:
    return list(
        Pledge.objects.filter(
            stage_id=stage_id,
            stage__state=StageState.ACTIVE,
            state__in=(PledgeState.PLEDGED, PledgeState.CHARGING),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def pledge_charge(*, pledge_id: int) -> Pledge:
    """Charge one pledge at most once. Raises `GatewayError` when Stripe could not answer.

    Safe to run any number of times, concurrently or after a crash: a final state returns at once,
    and a pledge left `charging` repeats the same idempotent request.
    """
    with transaction.atomic():
        pledge = (
            Pledge.objects.select_for_update(of=("self",))
            .select_related("stage__campaign")
            .get(pk=pledge_id)
        )
        if pledge.state not in (PledgeState.PLEDGED, PledgeState.CHARGING):
            return pledge
        if pledge.state == PledgeState.PLEDGED and pledge.stage.state != StageState.ACTIVE:
            return pledge
        # A pledge already `charging` repeats its idempotent request even if the stage was since
        # cancelled: Stripe may have charged it, and that answer must be written down.
        if pledge.donation_id is None:
            pledge.donation = Donation.objects.create(
                campaign=pledge.stage.campaign,
                amount=pledge.amount,
                display_name=pledge.display_name,
                anonymous=pledge.anonymous,
                show_amount=pledge.show_amount,
                email=pledge.email,
                language=pledge.language,
                channel=gateway.channel(),
            )
        pledge.state = PledgeState.CHARGING
        pledge.charge_started_at = pledge.charge_started_at or timezone.now()
        pledge.attempts += 1
        pledge.save()
    donation = pledge.donation
    assert donation is not None
    try:
        outcome = gateway.payment_intent_off_session(
            pledge_ref=str(pledge.public_id),
            donation_ref=str(donation.public_id),
            campaign_slug=pledge.stage.campaign.slug,
            amount=pledge.amount,
            customer_id=pledge.customer_id,
            payment_method_id=pledge.payment_method_id,
        )
    except gateway.GatewayRefused as error:
        # Stripe refused our request, not the card: the pledge stays `charging` (retried, swept,
        # shown to the organizer) instead of telling the pledger their card was declined.
        logger.error("Pledge %s: Stripe refused the charge request: %s", pledge.public_id, error)
        Pledge.objects.filter(pk=pledge_id, state=PledgeState.CHARGING).update(
            last_error=f"Stripe refused the request (not a decline): {error}"[:500]
        )
        raise
    return pledge_charge_record(pledge_id=pledge_id, outcome=outcome)


@transaction.atomic
def pledge_charge_record(*, pledge_id: int, outcome: gateway.OffSessionCharge) -> Pledge:
    """Write Stripe's answer, unless another run (or the webhook) already moved the pledge on."""
    pledge = (
        Pledge.objects.select_for_update(of=("self",)).select_related("donation").get(pk=pledge_id)
    )
    if pledge.state != PledgeState.CHARGING:
        return pledge
    if outcome.payment_intent_id and pledge.donation_id is not None:
        pledge.payment_intent_id = outcome.payment_intent_id
        Donation.objects.filter(pk=pledge.donation_id).update(
            payment_intent_id=outcome.payment_intent_id
        )
    kind = ""
    if outcome.status in ("succeeded", "processing"):
        pledge.state = PledgeState.CHARGED
        pledge.charged_at = timezone.now()
        pledge.last_error = ""
    elif outcome.status == "authentication_required":
        pledge.state = PledgeState.NEEDS_ACTION
        pledge.last_error = outcome.message[:500]
        kind = "action"
    else:
        pledge.state = PledgeState.FAILED
        pledge.last_error = outcome.message[:500]
        kind = "declined"
    pledge.save()
    # One row per charge Stripe answered (a rerun finding it recorded returned above).
    audit_record(
        user=None,
        action=MoneyAction.PLEDGE_CHARGE,
        obj=pledge,
        detail={
            "stage": pledge.stage_id,
            "amount": pledge.amount.amount,
            "outcome": outcome.status,
            "payment_intent": outcome.payment_intent_id,
            "attempt": pledge.attempts,
        },
    )
    if outcome.status == "succeeded" and gateway.settles_at_once() and pledge.donation is not None:
        # No webhook follows (the demo): count it the way the webhook would.
        donation_fulfil(
            result=gateway.demo_result(
                donation_ref=str(pledge.donation.public_id), amount=pledge.amount
            )
        )
    if kind:
        jobs.enqueue("donations.tasks.send_pledge_email", pledge_id, kind)
    return pledge


def pledge_finish_begin(
    *, pledge: Pledge, success_url: str, cancel_url: str, locale: str = "auto"
) -> gateway.CheckoutRedirect:
    """The pledger pays on Checkout (authentication, or a new card after a decline).

    The unfinished off-session attempt is cancelled first so that only one payment can succeed;
    the Checkout payment is for the pledge's own donation, which therefore counts at most once.
    """
    if pledge.state not in (PledgeState.NEEDS_ACTION, PledgeState.FAILED) or not pledge.donation:
        raise PledgeError(_("This pledge has nothing left to pay."))
    gateway.payment_intent_cancel(payment_intent_id=pledge.payment_intent_id)
    return checkout_begin(
        donation=pledge.donation, success_url=success_url, cancel_url=cancel_url, locale=locale
    )
