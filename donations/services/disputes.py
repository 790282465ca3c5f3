"""Disputes: a disputed gift is held out of the totals until Stripe closes the dispute."""

from __future__ import annotations

from donations import gateway
from donations.models import DisputeState, Donation
from donations.services.ledger import DonationNotFound, donation_change

DISPUTE_OUTCOMES = {"won": DisputeState.WON, "lost": DisputeState.LOST}


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


def dispute_open(*, dispute: gateway.Dispute) -> Donation:
    """`charge.dispute.created`: the gift stops counting while the dispute is open."""
    donation = _dispute_donation(dispute)
    if donation.dispute_state in (DisputeState.WON, DisputeState.LOST):
        return donation  # the closing event came first: the outcome stands

    def open_dispute(d: Donation) -> None:
        d.dispute_state = DisputeState.OPEN
        d.dispute_id = dispute.dispute_id

    return donation_change(donation, open_dispute)


def dispute_close(*, dispute: gateway.Dispute) -> Donation:
    """`charge.dispute.closed`: won, the gift counts again; lost, it stays out."""
    donation = _dispute_donation(dispute)
    # "warning_closed" (an inquiry that never became a dispute) gives the money back like a win.
    outcome = DISPUTE_OUTCOMES.get(dispute.status, DisputeState.WON)

    def close_dispute(d: Donation) -> None:
        d.dispute_state = outcome
        d.dispute_id = dispute.dispute_id or d.dispute_id

    return donation_change(donation, close_dispute)
