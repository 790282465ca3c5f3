"""Emails about donations, from templates/emails/<name>-subject.txt|-body.txt|-body.html."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation

from campaign.emails import render_email

from .models import Donation


def receipt_send(donation: Donation) -> None:
    with translation.override(donation.language or settings.LANGUAGE_CODE):
        campaign_url = settings.SITE_URL + donation.campaign.get_absolute_url()
        context = {
            "donation": donation,
            "campaign": donation.campaign,
            "campaign_url": campaign_url,
            "site_url": settings.SITE_URL,
            "receipt_url": settings.SITE_URL
            + reverse("donations:thanks", kwargs={"public_id": donation.public_id}),
        }
        subject, text, html = render_email("receipt", context)
    # One Message-ID per receipt: a copy re-sent after a worker died between the mail server's
    # acceptance and the commit is the same message, which mail services show once.
    headers = {"Message-ID": f"<receipt.{donation.public_id}@{_mail_domain()}>"}
    message = EmailMultiAlternatives(subject, text, to=[donation.email], headers=headers)
    message.attach_alternative(html, "text/html")
    message.send()


def _mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"
