"""Emails to pledgers: confirmation with a signed cancel link, a payment to finish, a decline, a
release. Rendered from templates/emails/pledge-<kind>-subject.txt|-body.txt|-body.html."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation

from campaign.emails import render_email

from .models import Pledge


def pledge_links(pledge: Pledge) -> dict[str, str]:
    from .pledges import CANCEL_SALT, PAY_SALT, pledge_token

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
    with translation.override(pledge.language or settings.LANGUAGE_CODE):
        campaign = pledge.stage.campaign
        context = {
            "pledge": pledge,
            "stage": pledge.stage,
            "campaign": campaign,
            "campaign_url": settings.SITE_URL + campaign.get_absolute_url(),
            "target_missed": pledge.stage.deadline_missed_at is not None,
            **pledge_links(pledge),
        }
        subject, text, html = render_email(f"pledge-{kind}", context)
    message = EmailMultiAlternatives(subject, text, to=[pledge.email])
    message.attach_alternative(html, "text/html")
    message.send()
