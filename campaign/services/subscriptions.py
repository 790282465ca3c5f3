"""Email subscriptions, double opt-in, with signed links that need no login."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone

from campaign.models import Campaign, Subscriber, SubscriberState
from core import jobs

logger = logging.getLogger(__name__)


CONFIRM_SALT = "campaign.subscriber.confirm"
UNSUBSCRIBE_SALT = "campaign.subscriber.unsubscribe"
CONFIRM_MAX_AGE = timedelta(days=7)
RESEND_CONFIRMATION_AFTER = timedelta(minutes=10)


def subscriber_confirm_token(*, subscriber: Subscriber) -> str:
    return signing.dumps({"s": subscriber.pk, "e": subscriber.email}, salt=CONFIRM_SALT)


def subscriber_unsubscribe_token(*, subscriber: Subscriber) -> str:
    """A link that never expires: an old email must still let its reader unsubscribe."""
    return signing.dumps({"s": subscriber.pk, "e": subscriber.email}, salt=UNSUBSCRIBE_SALT)


def _subscriber_from(token: str, *, salt: str, max_age: timedelta | None = None) -> Subscriber:
    """The subscriber a signed token names. Raises `signing.BadSignature` (expired included)."""
    data = signing.loads(token, salt=salt, max_age=max_age)
    if not isinstance(data, dict):
        raise signing.BadSignature("Unexpected token.")
    try:
        subscriber_id = int(data.get("s"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise signing.BadSignature("Unexpected token.") from error
    subscriber = (
        Subscriber.objects.select_for_update()
        .filter(pk=subscriber_id, email=str(data.get("e") or ""))
        .first()
    )
    if subscriber is None:
        raise signing.BadSignature("No such subscription.")
    return subscriber


@transaction.atomic
def subscriber_request(*, campaign: Campaign, email: str, language: str = "en") -> Subscriber:
    """Ask for updates: a confirmation link goes out; nothing is sent until it is followed.

    The answer is the same whether or not the address is known, so the form reveals nothing.
    """
    address = email.strip().lower()
    subscriber, _ = Subscriber.objects.get_or_create(
        campaign=campaign, email=address, defaults={"language": language}
    )
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.state == SubscriberState.CONFIRMED:
        return subscriber
    now = timezone.now()
    recently = subscriber.confirmation_sent_at and (
        now - subscriber.confirmation_sent_at < RESEND_CONFIRMATION_AFTER
    )
    if recently and subscriber.state == SubscriberState.PENDING:
        return subscriber  # one email per ten minutes, so the form cannot be used to flood
    subscriber.state = SubscriberState.PENDING
    subscriber.language = language
    subscriber.confirmation_sent_at = now
    subscriber.save(update_fields=["state", "language", "confirmation_sent_at"])
    # Best-effort: a confirmation lost with the broker is not swept; the form sends it again
    # to whoever asks after RESEND_CONFIRMATION_AFTER.
    jobs.enqueue("campaign.tasks.send_subscription_confirmation", subscriber.pk)
    return subscriber


def _subscriber_mark_confirmed(subscriber: Subscriber) -> Subscriber:
    if subscriber.state != SubscriberState.CONFIRMED:
        subscriber.state = SubscriberState.CONFIRMED
        subscriber.confirmed_at = timezone.now()
        subscriber.unsubscribed_at = None
        subscriber.save(update_fields=["state", "confirmed_at", "unsubscribed_at"])
    return subscriber


@transaction.atomic
def subscriber_confirm(*, token: str) -> Subscriber:
    """Follow the confirmation link. Raises `signing.BadSignature` for a bad or expired link."""
    subscriber = _subscriber_from(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    return _subscriber_mark_confirmed(subscriber)


@transaction.atomic
def subscriber_unsubscribe(*, token: str) -> Subscriber:
    """One click from any email; no login. Raises `signing.BadSignature`."""
    subscriber = _subscriber_from(token, salt=UNSUBSCRIBE_SALT)
    if subscriber.state != SubscriberState.UNSUBSCRIBED:
        subscriber.state = SubscriberState.UNSUBSCRIBED
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["state", "unsubscribed_at"])
    return subscriber


@transaction.atomic
def subscriber_resubscribe(*, token: str) -> Subscriber:
    """Undo an unsubscribe from the same signed link (it proves the address, as a confirmation)."""
    subscriber = _subscriber_from(token, salt=UNSUBSCRIBE_SALT)
    return _subscriber_mark_confirmed(subscriber)
