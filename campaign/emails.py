"""Emails to subscribers: the confirmation link, and each update with its one-click unsubscribe."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from . import services
from .models import Subscriber, UpdateDelivery


def render_email(name: str, context: dict[str, object]) -> tuple[str, str, str]:
    subject = render_to_string(f"emails/{name}-subject.txt", context).strip().replace("\n", " ")
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = render_to_string(f"emails/{name}-body.html", context)
    return subject, text, html


def unsubscribe_url(subscriber: Subscriber) -> str:
    token = services.subscriber_unsubscribe_token(subscriber=subscriber)
    with translation.override(subscriber.language or settings.LANGUAGE_CODE):
        return settings.SITE_URL + reverse("campaign:unsubscribe", kwargs={"token": token})


def confirmation_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    token = services.subscriber_confirm_token(subscriber=subscriber)
    with translation.override(subscriber.language or settings.LANGUAGE_CODE):
        context = {
            "campaign": subscriber.campaign,
            "confirm_url": settings.SITE_URL
            + reverse("campaign:subscription_confirm", kwargs={"token": token}),
            "campaign_url": settings.SITE_URL + subscriber.campaign.get_absolute_url(),
        }
        subject, text, html = render_email("subscribe-confirm", context)
    message = EmailMultiAlternatives(subject, text, to=[subscriber.email])
    message.attach_alternative(html, "text/html")
    return message


def update_message(delivery: UpdateDelivery) -> EmailMultiAlternatives:
    """One update for one subscriber, with RFC 8058 one-click unsubscribe headers."""
    subscriber = delivery.subscriber
    update = delivery.update
    leave = unsubscribe_url(subscriber)
    with translation.override(subscriber.language or settings.LANGUAGE_CODE):
        context = {
            "update": update,
            "campaign": update.campaign,
            "update_url": settings.SITE_URL + update.get_absolute_url(),
            "campaign_url": settings.SITE_URL + update.campaign.get_absolute_url(),
            "unsubscribe_url": leave,
        }
        subject, text, html = render_email("update", context)
    message = EmailMultiAlternatives(
        subject,
        text,
        to=[subscriber.email],
        headers={
            "List-Unsubscribe": f"<{leave}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"<{update.campaign.slug}.updates.{settings.SITE_URL.split('//')[-1]}>",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def confirmation_send(subscriber: Subscriber) -> None:
    confirmation_message(subscriber).send()
