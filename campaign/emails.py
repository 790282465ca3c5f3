"""Emails to subscribers: the confirmation link, and each update with its one-click unsubscribe."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation

from campaign import services
from campaign.models import Subscriber, UpdateDelivery
from core.emails import email_message


def unsubscribe_url(subscriber: Subscriber) -> str:
    token = services.subscriber_unsubscribe_token(subscriber=subscriber)
    with translation.override(subscriber.language or settings.LANGUAGE_CODE):
        return settings.SITE_URL + reverse("campaign:unsubscribe", kwargs={"token": token})


def confirmation_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    token = services.subscriber_confirm_token(subscriber=subscriber)

    def context() -> dict[str, object]:
        return {
            "campaign": subscriber.campaign,
            "confirm_url": settings.SITE_URL
            + reverse("campaign:subscription_confirm", kwargs={"token": token}),
            "campaign_url": settings.SITE_URL + subscriber.campaign.get_absolute_url(),
        }

    return email_message(
        "subscribe-confirm", context, to=subscriber.email, language=subscriber.language
    )


def update_message(delivery: UpdateDelivery) -> EmailMultiAlternatives:
    """One update for one subscriber, with RFC 8058 one-click unsubscribe headers."""
    subscriber = delivery.subscriber
    update = delivery.update
    leave = unsubscribe_url(subscriber)

    def context() -> dict[str, object]:
        return {
            "update": update,
            "campaign": update.campaign,
            "update_url": settings.SITE_URL + update.get_absolute_url(),
            "campaign_url": settings.SITE_URL + update.campaign.get_absolute_url(),
            "unsubscribe_url": leave,
        }

    return email_message(
        "update",
        context,
        to=subscriber.email,
        language=subscriber.language,
        headers={
            "List-Unsubscribe": f"<{leave}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"<{update.campaign.slug}.updates.{settings.SITE_URL.split('//')[-1]}>",
        },
    )


def confirmation_send(subscriber: Subscriber) -> None:
    confirmation_message(subscriber).send()
