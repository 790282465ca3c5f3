"""Signed, short-lived links to a donor's own page ("Manage my gifts"), and their erasure request.

No account and no password: the page is opened by a link sent to the donor's email. A link is a
`TimestampSigner` value (a salt used for nothing else) naming the email and the nonce of that
email's `DonorAccess` row. It works for `MY_GIFTS_LINK_MAX_AGE` seconds, and only while its nonce is
the newest: issuing a newer link replaces the nonce, and an erasure blanks the row's email, so a
leaked old link opens nothing. Whether an address is known never shows: asking for a link queues the
same job for any address, and only that job (after the response) looks the address up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import models, transaction
from django.utils import timezone

from core import jobs
from donations.models import (
    Donation,
    DonorAccess,
    ErasureRequest,
    MonthlyGift,
    Pledge,
    donor_key_for,
)
from donations.services import privacy

SALT = "donations.my-gifts.sign-in"


class LinkInvalid(Exception):
    """The link was altered, or is not one of ours."""


class LinkExpired(Exception):
    """The link is genuine but too old, superseded by a newer one, or its donor was erased."""


@dataclass(frozen=True)
class DonorPass:
    """Who a valid link (or the session it started) stands for."""

    email: str
    nonce: str


def email_normalize(email: str) -> str:
    return email.strip().lower()


def donor_known(*, email: str) -> bool:
    """Whether this address gave, pledged or gives monthly (any state)."""
    email = email_normalize(email)
    if not email:
        return False
    key = donor_key_for(email)
    if Donation.objects.filter(models.Q(donor_key=key) | models.Q(email__iexact=email)).exists():
        return True
    return (
        Pledge.objects.filter(email__iexact=email).exists()
        or MonthlyGift.objects.filter(email__iexact=email).exists()
    )


@transaction.atomic
def donor_link_issue(*, email: str) -> str:
    """A new link token for `email`; every older link (and the session it started) stops working."""
    email = email_normalize(email)
    nonce = secrets.token_hex(16)
    rows = DonorAccess.objects.select_for_update().filter(email=email)
    if not rows.update(nonce=nonce, issued_at=timezone.now()):
        DonorAccess.objects.create(email=email, nonce=nonce, issued_at=timezone.now())
    return signing.TimestampSigner(salt=SALT).sign_object({"e": email, "n": nonce}, compress=True)


def donor_link_request(*, email: str, language: str) -> None:
    """Queue the sign-in email. Known or not, the caller sees the same thing: the job decides."""
    jobs.enqueue("donations.tasks.send_my_gifts_link", email_normalize(email), language)


def donor_link_open(*, token: str) -> DonorPass:
    """Who the link stands for. Raises `LinkInvalid` (altered) or `LinkExpired`."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        value = signer.unsign_object(token, max_age=settings.MY_GIFTS_LINK_MAX_AGE)
    except signing.SignatureExpired as error:
        raise LinkExpired from error
    except (signing.BadSignature, ValueError) as error:
        raise LinkInvalid from error
    if not isinstance(value, dict) or not {"e", "n"} <= set(value):
        raise LinkInvalid
    donor = DonorPass(email=str(value["e"]), nonce=str(value["n"]))
    if not donor_pass_current(donor):
        raise LinkExpired
    return donor


def donor_pass_current(donor: DonorPass) -> bool:
    """Whether this is still the newest link of a donor who was not erased since."""
    return DonorAccess.objects.filter(email=donor.email, nonce=donor.nonce).exists()


def donor_links_void(*, email: str) -> int:
    """Every link and session of `email` stops working (erasure)."""
    count, _ = DonorAccess.objects.filter(email=email_normalize(email)).delete()
    return count


# --- Erasure on request ---------------------------------------------------------------------------


def erasure_request(*, email: str, language: str) -> ErasureRequest:
    """Record the donor's request; the organizer confirms it in the admin. One open request per
    address: asking twice acknowledges twice but records once."""
    email = email_normalize(email)
    with transaction.atomic():
        request = (
            ErasureRequest.objects.select_for_update()
            .filter(email=email, confirmed_at__isnull=True)
            .first()
        )
        if request is None:
            request = ErasureRequest.objects.create(email=email, language=language)
        jobs.enqueue("donations.tasks.send_erasure_received", request.pk)
    return request


def erasure_confirm(*, request: ErasureRequest, user: Any) -> dict[str, int] | None:
    """Run the erasure (money records stay, the person's details go) and stamp the request.
    None when it was already confirmed: confirming twice erases once. Raises
    `privacy.ErasureRefused` while a pledge is being charged, `GatewayError` when Stripe could not
    delete a pledger's Customer: the request stays open, and confirming again finishes it."""
    with transaction.atomic():
        locked = ErasureRequest.objects.select_for_update().get(pk=request.pk)
        if locked.confirmed_at is not None:
            return None
        email = locked.email
    # Outside a transaction: the erasure commits its rows before it asks Stripe (privacy.py).
    result = privacy.donor_data_erase(email=email, user=user)
    with transaction.atomic():
        donor_links_void(email=email)
        ErasureRequest.objects.filter(pk=locked.pk, confirmed_at__isnull=True).update(
            email="",
            confirmed_at=timezone.now(),
            confirmed_by=getattr(user, "get_username", lambda: "")() if user else "",
        )
    return result
