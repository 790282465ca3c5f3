"""Disputes: only what Stripe withdrew for a dispute is held out of the totals, and its fee counts.

Every `charge.dispute.*` event means "this dispute changed": the dispute is read back from Stripe
(events arrive in any order; Stripe's object now is the truth) and the donation takes its status,
its own amount (a dispute may cover part of a gift), the funds its balance transactions withdrew
and reinstated (`dispute_withdrawn`, held out of `raised`) and the dispute fees (`dispute_fee`, in
the fees). An inquiry (`warning_*`) withdraws nothing, so nothing is held. Every status Stripe
documents maps to a state below; an unknown one changes no state and is put to the organizer.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from djmoney.money import Money

from core.money import CURRENCY, cad
from donations import gateway
from donations.models import DisputeState, Donation
from donations.services.ledger import DonationNotFound, donation_change

logger = logging.getLogger(__name__)

# Every status of stripe/_dispute.py's `status` Literal (SDK 16.1.0), explicitly.
DISPUTE_STATES: dict[str, DisputeState] = {
    "warning_needs_response": DisputeState.INQUIRY,
    "warning_under_review": DisputeState.INQUIRY,
    "warning_closed": DisputeState.INQUIRY_CLOSED,
    "needs_response": DisputeState.OPEN,
    "under_review": DisputeState.OPEN,
    "appeal_needs_response": DisputeState.APPEAL,
    "appeal_under_review": DisputeState.APPEAL,
    "won": DisputeState.WON,
    "lost": DisputeState.LOST,
    "prevented": DisputeState.PREVENTED,
}
# Kept for callers of the old name.
DISPUTE_OUTCOMES = DISPUTE_STATES

# Stripe's network dispute fee in Canada, used only when a dispute object carries no balance
# transactions to read the withdrawal from.
DISPUTE_FEE = Decimal("15.00")
# States in which Stripe has withdrawn the disputed amount and the fee (and keeps them).
_WITHDRAWN_STATES = (DisputeState.OPEN, DisputeState.APPEAL, DisputeState.LOST)

UNKNOWN_STATUS_NOTE = "Dispute {id}: Stripe status {status!r} is unknown to this site"


def _dispute_donation(dispute: gateway.Dispute) -> Donation:
    query = Donation.objects.select_for_update()
    donation = None
    if dispute.payment_intent_id:
        donation = query.filter(payment_intent_id=dispute.payment_intent_id).first()
    if donation is None and dispute.charge_id:
        donation = query.filter(charge_id=dispute.charge_id).first()
    if donation is None:
        raise DonationNotFound(
            f"No donation for dispute pi={dispute.payment_intent_id!r} ch={dispute.charge_id!r}"
        )
    return donation


def _funds(dispute: gateway.Dispute, state: DisputeState) -> tuple[Money, Money]:
    """(withdrawn and not given back, fees): from the balance transactions when there are any."""
    if dispute.withdrawn is not None and dispute.fee is not None:
        return dispute.withdrawn, dispute.fee
    amount = dispute.amount.amount if dispute.amount is not None else Decimal("0")
    if state in _WITHDRAWN_STATES:
        return cad(amount), cad(DISPUTE_FEE)
    return cad(0), cad(0)  # an inquiry, a prevented dispute, a won one (amount and fee back)


def dispute_sync(*, dispute: gateway.Dispute) -> Donation:
    """Any `charge.dispute.*` event: the donation takes the dispute as Stripe has it now.

    Raises `DonationNotFound` (no such payment yet: retried) and `gateway.GatewayError` (Stripe
    could not be asked: retried). Safe to run any number of times, in any order.
    """
    _dispute_donation(dispute)  # locked, and a clear failure before asking Stripe
    if dispute.dispute_id:
        dispute = gateway.dispute_retrieve(dispute_id=dispute.dispute_id)
    return dispute_apply(dispute=dispute)


def dispute_apply(*, dispute: gateway.Dispute) -> Donation:
    """The donation takes `dispute` as the truth (as read from Stripe by `dispute_sync`)."""
    donation = _dispute_donation(dispute)
    if dispute.currency and dispute.currency != CURRENCY:
        raise ValueError(f"Dispute in {dispute.currency}, not {CURRENCY}.")
    state = DISPUTE_STATES.get(dispute.status)
    note = UNKNOWN_STATUS_NOTE.format(id=dispute.dispute_id, status=dispute.status)
    if state is None:
        logger.warning("%s; donation %s keeps its dispute state.", note, donation.pk)
    known = state if state is not None else DisputeState(donation.dispute_state)
    withdrawn, fee = _funds(dispute, known)
    if state is None and (dispute.withdrawn is None or dispute.fee is None):
        withdrawn, fee = donation.dispute_withdrawn, donation.dispute_fee  # not guessed

    def apply(d: Donation) -> None:
        d.dispute_id = dispute.dispute_id or d.dispute_id
        d.dispute_status = dispute.status[:40]
        d.dispute_state = known
        if dispute.amount is not None:
            d.dispute_amount = cad(dispute.amount.amount)
        d.dispute_withdrawn = cad(withdrawn.amount)
        d.dispute_fee = cad(fee.amount)
        if state is None:
            d.attention = f"{note}: check the dispute in Stripe's dashboard."[:500]
        elif d.attention.startswith(f"Dispute {dispute.dispute_id}:"):
            d.attention = ""  # a known status since: nothing left to look at

    return donation_change(donation, apply)
