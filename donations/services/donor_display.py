"""A donor changes how one of their gifts appears on the list of supporters.

The same choices and rules as the donation form: a name, a nickname or "Anonymous"; the amount
shown or not; a message the organizer may hide. A message the organizer hid stays hidden when the
donor edits it (only the organizer shows it again), so editing is no way around moderation. The
row is saved with `save()`, whose `post_save` drops the cached public pages when the transaction
commits (front/cache.py), so the change shows at once.
"""

from __future__ import annotations

from django.db import transaction

from donations.models import Donation, MonthlyGift

SHOWN_AS = ("name", "nickname", "anonymous")


@transaction.atomic
def donation_display_change(
    *, donation: Donation, shown_as: str, display_name: str, show_amount: bool, message: str
) -> Donation:
    locked = Donation.objects.select_for_update().get(pk=donation.pk)
    _choices_save(locked, shown_as, display_name, show_amount, message)
    return locked


@transaction.atomic
def monthly_display_change(
    *, gift: MonthlyGift, shown_as: str, display_name: str, show_amount: bool, message: str
) -> MonthlyGift:
    """The monthly gift's choices, for its next renewals and for the months already paid (each
    is a donation on the list of supporters; the message shows with the first month only)."""
    locked = MonthlyGift.objects.select_for_update().get(pk=gift.pk)
    _choices_save(locked, shown_as, display_name, show_amount, message)
    months = list(locked.donations.select_for_update().order_by("created_at", "id"))
    for number, donation in enumerate(months):
        donation.anonymous = locked.anonymous
        donation.display_name = locked.display_name
        donation.show_amount = locked.show_amount
        donation.message = locked.message if number == 0 else ""
        donation.save(update_fields=["anonymous", "display_name", "show_amount", "message"])
    return locked


def _choices_save(
    row: Donation | MonthlyGift, shown_as: str, display_name: str, show_amount: bool, message: str
) -> None:
    """How a gift appears, as the donor chose it on their page (save(): the page cache drops)."""
    if shown_as not in SHOWN_AS:
        raise ValueError(f"shown_as must be one of {SHOWN_AS}")
    anonymous = shown_as == "anonymous"
    row.anonymous = anonymous
    row.display_name = "" if anonymous else display_name.strip()
    row.show_amount = show_amount
    row.message = message.strip()
    row.save(update_fields=["anonymous", "display_name", "show_amount", "message"])
