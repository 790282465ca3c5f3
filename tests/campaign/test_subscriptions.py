"""Email subscriptions: double opt-in with a signed link, one-click unsubscribe, no login."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from campaign import services
from campaign.models import Subscriber, SubscriberState

pytestmark = pytest.mark.django_db


def link_in(text: object, kind: str) -> str:
    text = str(text)
    match = re.search(
        rf"http://testserver(/\S*/subscriptions/{kind}/\S+/|/subscriptions/{kind}/\S+/)", text
    )
    assert match, text
    return match.group(1)


def subscribe(client, campaign, capture, email="Reader@Example.ca"):
    with capture(execute=True):
        return client.post(f"/campaigns/{campaign.slug}/subscribe/", {"email": email})


def test_subscribe_sends_a_confirmation_and_nothing_counts_until_confirmed(
    client, campaign, django_capture_on_commit_callbacks
):
    response = subscribe(client, campaign, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.state) == ("reader@example.ca", SubscriberState.PENDING)
    [message] = mail.outbox
    assert message.to == ["reader@example.ca"]
    assert message.subject == "Confirm your subscription to Legal Defense Fund"
    confirm = link_in(message.body, "confirm")
    html = message.alternatives[0].content  # type: ignore[attr-defined]
    assert confirm in html and "Confirm my subscription" in html

    page = client.get(confirm)

    assert page.status_code == 200
    assert "reader@example.ca will receive the updates" in page.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.CONFIRMED


def test_the_confirmation_link_expires_after_seven_days(
    client, campaign, django_capture_on_commit_callbacks
):
    subscribe(client, campaign, django_capture_on_commit_callbacks)
    confirm = link_in(mail.outbox[0].body, "confirm")

    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        page = client.get(confirm)

    assert page.status_code == 400
    assert "not valid or has expired" in page.content.decode()
    assert Subscriber.objects.get().state == SubscriberState.PENDING


def test_a_tampered_link_is_refused(client, campaign, django_capture_on_commit_callbacks):
    subscribe(client, campaign, django_capture_on_commit_callbacks)
    confirm = link_in(mail.outbox[0].body, "confirm")

    assert client.get(confirm.replace(confirm[-6:-1], "AAAAA")).status_code == 400
    assert client.get("/subscriptions/unsubscribe/garbage/").status_code == 400
    assert Subscriber.objects.get().state == SubscriberState.PENDING


def test_the_form_reveals_nothing_and_does_not_flood(
    client, campaign, django_capture_on_commit_callbacks
):
    first = subscribe(client, campaign, django_capture_on_commit_callbacks)
    second = subscribe(client, campaign, django_capture_on_commit_callbacks)

    def main(response):
        found = re.search(r"<main.*</main>", response.content.decode(), re.S)
        assert found is not None
        return found.group(0)

    assert main(first) == main(second)
    assert len(mail.outbox) == 1  # a second request within ten minutes sends nothing
    assert Subscriber.objects.count() == 1


def test_a_bad_address_is_a_form_error(client, campaign):
    response = client.post(f"/campaigns/{campaign.slug}/subscribe/", {"email": "not-an-email"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert Subscriber.objects.count() == 0


def confirmed(campaign, email="reader@example.ca"):
    subscriber = Subscriber.objects.create(
        campaign=campaign, email=email, state=SubscriberState.CONFIRMED
    )
    return subscriber


def test_unsubscribe_in_one_click_and_undo(client, campaign):
    subscriber = confirmed(campaign)
    token = services.subscriber_unsubscribe_token(subscriber=subscriber)

    page = client.get(f"/subscriptions/unsubscribe/{token}/")

    assert page.status_code == 200
    assert "reader@example.ca will no longer receive updates." in page.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.UNSUBSCRIBED

    undo = client.post(f"/subscriptions/unsubscribe/{token}/", {"action": "resubscribe"})

    assert undo.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.CONFIRMED


def test_rfc8058_one_click_post_needs_no_csrf_token(campaign):
    from django.test import Client

    subscriber = confirmed(campaign)
    token = services.subscriber_unsubscribe_token(subscriber=subscriber)
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(
        f"/subscriptions/unsubscribe/{token}/",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.UNSUBSCRIBED


def test_an_unsubscribe_link_for_one_address_cannot_touch_another(campaign):
    from django.core import signing

    a = confirmed(campaign, "a@example.ca")
    b = confirmed(campaign, "b@example.ca")
    token_a = services.subscriber_unsubscribe_token(subscriber=a)
    payload_b = services.subscriber_unsubscribe_token(subscriber=b).split(":", 1)[0]
    forged = payload_b + ":" + token_a.split(":", 1)[1]  # b's payload under a's signature
    confirm_b = services.subscriber_confirm_token(subscriber=b)  # signed for another purpose

    for token in (forged, confirm_b):
        with pytest.raises(signing.BadSignature):
            services.subscriber_unsubscribe(token=token)
    b.refresh_from_db()
    assert b.state == SubscriberState.CONFIRMED


def test_subscribe_again_after_unsubscribing_needs_a_new_confirmation(
    client, campaign, django_capture_on_commit_callbacks
):
    subscriber = confirmed(campaign)
    services.subscriber_unsubscribe(
        token=services.subscriber_unsubscribe_token(subscriber=subscriber)
    )

    subscribe(client, campaign, django_capture_on_commit_callbacks, email="reader@example.ca")

    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.PENDING
    assert len(mail.outbox) == 1


def test_donation_form_checkbox_asks_for_a_confirmation(
    client, campaign, donor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, "subscribe": "on"})

    assert response.status_code == 303
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.state) == ("marie@example.ca", SubscriberState.PENDING)
    assert [m.subject for m in mail.outbox] == ["Confirm your subscription to Legal Defense Fund"]


def test_donation_form_subscribe_without_email_is_a_field_error(client, campaign, donor):
    response = client.post(
        f"/campaigns/{campaign.slug}/donate/", {**donor, "email": "", "subscribe": "on"}
    )
    assert response.status_code == 400
    assert "Enter your email above to get the updates." in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_donating_without_the_checkbox_subscribes_nobody(client, campaign, donor):
    client.post(f"/campaigns/{campaign.slug}/donate/", donor)
    assert Subscriber.objects.count() == 0


def test_french_subscriber_gets_french_links(client, campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/fr/campaigns/{campaign.slug}/subscribe/", {"email": "julie@example.ca"})
    assert Subscriber.objects.get().language == "fr"
    assert "/fr/subscriptions/confirm/" in mail.outbox[0].body
