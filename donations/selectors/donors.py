"""What one donor's own page shows: their gifts by email, and nothing of anyone else's.

Every read takes the donor's email and a gift's unguessable reference (`public_id`), so a
reference from another donor reads as "not found", never as someone else's gift.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from donations.models import Donation, DonationState, Pledge, PledgeState, donor_key_for

# A donation started but never paid (pending, expired, cancelled at Checkout) is no gift to list.
LISTED_STATES = (
    DonationState.PROCESSING,
    DonationState.CONFIRMED,
    DonationState.REFUNDED,
    DonationState.FAILED,
)
RECEIPT_STATES = (DonationState.CONFIRMED, DonationState.REFUNDED)
PLEDGE_CANCELLABLE = (PledgeState.SETUP, PledgeState.PLEDGED)


@dataclass(frozen=True)
class DonorGifts:
    donations: list[Donation]
    pledges: list[Pledge]

    @property
    def empty(self) -> bool:
        return not (self.donations or self.pledges)


def _donations(email: str) -> models.QuerySet[Donation]:
    email = email.strip()
    if not email:
        return Donation.objects.none()
    return Donation.objects.filter(
        models.Q(donor_key=donor_key_for(email)) | models.Q(email__iexact=email)
    ).select_related("campaign")


def _pledges(email: str) -> models.QuerySet[Pledge]:
    email = email.strip()
    if not email:
        return Pledge.objects.none()
    return Pledge.objects.filter(email__iexact=email).select_related("stage__campaign")


def donor_gifts(*, email: str) -> DonorGifts:
    """The donor's one-off gifts and pledges, newest first. A monthly gift's months are listed
    with it (`monthly_gifts_for_email`), not here."""
    donations = list(
        _donations(email)
        .filter(state__in=LISTED_STATES, monthly_gift__isnull=True)
        .order_by("-created_at", "-id")
    )
    pledges = list(_pledges(email).exclude(state=PledgeState.SETUP).order_by("-created_at", "-id"))
    return DonorGifts(donations=donations, pledges=pledges)


def donor_donation(*, email: str, ref: object) -> Donation | None:
    """One of this donor's listed donations by reference, or None (not theirs, or no such)."""
    return _donations(email).filter(public_id=str(ref), state__in=LISTED_STATES).first()


def donor_pledge(*, email: str, ref: object) -> Pledge | None:
    return _pledges(email).filter(public_id=str(ref)).first()
