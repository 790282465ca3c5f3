"""Emails about donations, monthly gifts and pledges: a receipt; to monthly supporters, the end
of their gift and a failed renewal (templates/emails/monthly_*); to pledgers, a confirmation with
a signed cancel link, a payment to finish, a decline, a release (templates/emails/pledge-<kind>-*).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Count, Sum
from django.urls import NoReverseMatch, reverse

from core.emails import email_send
from core.money import cad
from donations.models import (
    Donation,
    DonationState,
    ErasureRequest,
    MonthlyGift,
    MonthlyRenewalFailure,
    Pledge,
)
from donations.services import donor_access
from donations.services.pledges import CANCEL_SALT, PAY_SALT, pledge_token


def receipt_send(donation: Donation) -> None:
    def context() -> dict[str, object]:
        return {
            "donation": donation,
            "campaign": donation.campaign,
            "campaign_url": settings.SITE_URL + donation.campaign.get_absolute_url(),
            "site_url": settings.SITE_URL,
            "receipt_url": settings.SITE_URL
            + reverse("donations:thanks", kwargs={"public_id": donation.public_id}),
            # Opens the donor's page directly (a sign-in link, valid MY_GIFTS_LINK_MAX_AGE).
            "manage_url": my_gifts_link_url(donor_access.donor_link_issue(email=donation.email)),
        }

    # One Message-ID per receipt: a copy re-sent after a worker died between the mail server's
    # acceptance and the commit is the same message, which mail services show once.
    headers = {"Message-ID": f"<receipt.{donation.public_id}@{_mail_domain()}>"}
    email_send("receipt", context, to=donation.email, language=donation.language, headers=headers)


def my_gifts_link_url(token: str) -> str:
    return settings.SITE_URL + reverse("donations:my_gifts_open", kwargs={"token": token})


def my_gifts_link_send(*, email: str, language: str) -> bool:
    """The sign-in link to the donor's page; nothing is sent to an address that never gave."""
    if not donor_access.donor_known(email=email):
        return False

    def context() -> dict[str, object]:
        return {
            "link": my_gifts_link_url(donor_access.donor_link_issue(email=email)),
            "minutes": max(1, settings.MY_GIFTS_LINK_MAX_AGE // 60),
            "start_url": settings.SITE_URL + reverse("donations:my_gifts"),
        }

    email_send("my_gifts_link", context, to=email, language=language)
    return True


def erasure_received_send(request: ErasureRequest) -> bool:
    if not request.email:  # already erased: nobody left to tell
        return False
    email_send(
        "my_gifts_erasure", {"request": request}, to=request.email, language=request.language
    )
    return True


def pledge_links(pledge: Pledge) -> dict[str, str]:
    kwargs = {"public_id": pledge.public_id}
    cancel = reverse("donations:pledge_cancel", kwargs=kwargs)
    pay = reverse("donations:pledge_pay", kwargs=kwargs)
    cancel_token = pledge_token(pledge=pledge, salt=CANCEL_SALT)
    pay_token = pledge_token(pledge=pledge, salt=PAY_SALT)
    return {
        "cancel_url": f"{settings.SITE_URL}{cancel}?t={cancel_token}",
        "pay_url": f"{settings.SITE_URL}{pay}?t={pay_token}",
    }


def pledge_send(pledge: Pledge, kind: str) -> None:
    def context() -> dict[str, object]:
        campaign = pledge.stage.campaign
        return {
            "pledge": pledge,
            "stage": pledge.stage,
            "campaign": campaign,
            "campaign_url": settings.SITE_URL + campaign.get_absolute_url(),
            "target_missed": pledge.stage.deadline_missed_at is not None,
            **pledge_links(pledge),
        }

    email_send(f"pledge-{kind}", context, to=pledge.email, language=pledge.language)


def _mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def my_gifts_url() -> str:
    """The donor's own page, in the language being rendered (/my-gifts/ asks for the email)."""
    try:
        path = reverse("donations:my_gifts")
    except NoReverseMatch:  # the donor's page not wired: its address all the same
        path = reverse("campaign:home") + "my-gifts/"
    return settings.SITE_URL + path


def _monthly_context(gift: MonthlyGift) -> dict[str, object]:
    given = gift.donations.filter(state=DonationState.CONFIRMED).aggregate(
        total=Sum("amount"), n=Count("pk")
    )
    return {
        "gift": gift,
        "campaign": gift.campaign,
        "campaign_url": settings.SITE_URL + gift.campaign.get_absolute_url(),
        "my_gifts_url": my_gifts_url(),
        "given_total": cad(given["total"] or 0),
        "given_months": int(given["n"] or 0),
    }


def monthly_send(gift: MonthlyGift, kind: str) -> None:
    """`monthly_ending`: the gift stops (goal met, case closed, cancelled), nothing more charged."""
    email_send(
        f"monthly_{kind}",
        lambda: _monthly_context(gift),
        to=gift.email,
        language=gift.language,
        headers={"Message-ID": f"<monthly-{kind}.{gift.public_id}@{_mail_domain()}>"},
    )


def monthly_failed_send(failure: MonthlyRenewalFailure, invoice_url: str) -> None:
    """A renewal failed: how to update the card; Stripe tries again by itself."""
    gift = failure.gift

    def context() -> dict[str, object]:
        return {**_monthly_context(gift), "failure": failure, "invoice_url": invoice_url}

    email_send("monthly_failed", context, to=gift.email, language=gift.language)
