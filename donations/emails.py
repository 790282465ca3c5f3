"""Emails about donations, from templates/emails/<name>-subject.txt|-body.txt|-body.html."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .models import Donation


def render_email(name: str, context: dict[str, object]) -> tuple[str, str, str]:
    subject = render_to_string(f"emails/{name}-subject.txt", context).strip().replace("\n", " ")
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = render_to_string(f"emails/{name}-body.html", context)
    return subject, text, html


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
    message = EmailMultiAlternatives(subject, text, to=[donation.email])
    message.attach_alternative(html, "text/html")
    message.send()
