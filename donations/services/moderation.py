"""The organizer's moderation of what the list of supporters shows."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from core.signals import public_content_changed
from donations.models import Donation


@transaction.atomic
def donation_messages_hide(*, donations: QuerySet[Donation], hidden: bool = True) -> int:
    """Hide (or show again) the public message of these donations; returns how many rows.

    One update for the whole selection, and the public pages showing them drop on commit.
    """
    count = donations.update(message_hidden=hidden)
    if count:
        public_content_changed.send(sender=Donation)
    return count
