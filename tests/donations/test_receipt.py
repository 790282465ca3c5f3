"""The thank-you receipt: sent once, by a task, to a confirmed donation that left an email."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from donations import services
from donations.emails import receipt_send
from tests.support.payments import completed_event, deliver, start_checkout

pytestmark = pytest.mark.django_db


def test_confirmed_donation_gets_one_receipt(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign, amount="50")
    event = completed_event(stripe_fake, session_id)

    deliver(client, event, django_capture_on_commit_callbacks)
    deliver(client, event, django_capture_on_commit_callbacks)  # redelivery
    client.get(f"/donations/{donation.public_id}/thanks/?session_id={session_id}")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    assert message.to == ["marie@example.ca"]
    assert message.subject == "Your gift of $50.00 to Legal Defense Fund: thank you"
    assert "Thank you for your gift of $50.00 to Legal Defense Fund." in message.body
    assert f"Reference: {donation.public_id}" in message.body
    assert f"http://testserver/campaigns/{campaign.slug}/" in message.body
    assert "not a tax receipt" in message.body
    content, mimetype = message.alternatives[0]
    html = str(content)
    assert mimetype == "text/html"
    assert "Thank you for your gift of $50.00 to Legal Defense Fund." in html
    assert f'href="http://testserver/campaigns/{campaign.slug}/"' in html
    donation.refresh_from_db()
    assert donation.receipt_sent_at is not None
    assert donation.confirmed_at is not None
    date = donation.confirmed_at.astimezone().strftime("%Y")
    assert date in message.body


def test_no_email_no_receipt(client, campaign, stripe_fake, django_capture_on_commit_callbacks):
    _, session_id = start_checkout(client, campaign, email="")

    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)

    assert mail.outbox == []


def test_unpaid_checkout_sends_no_receipt(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    _, session_id = start_checkout(client, campaign)

    deliver(
        client,
        completed_event(stripe_fake, session_id, payment_status="unpaid"),
        django_capture_on_commit_callbacks,
    )

    assert mail.outbox == []


def test_receipt_service_sends_once_even_when_called_again(campaign):
    from tests.support.factories import confirmed_donation

    donation = confirmed_donation(campaign, "25.00", email="x@example.org")

    sent = [services.receipt_mark_sent(donation_id=donation.pk, send=receipt_send) for _ in "ab"]

    assert sent == [True, False]
    assert len(mail.outbox) == 1


def test_a_failed_send_leaves_the_receipt_unsent_for_a_retry(campaign):
    from tests.support.factories import confirmed_donation

    donation = confirmed_donation(campaign, "25.00", email="x@example.org")

    def smtp_down(_):
        raise OSError("connection refused")

    with pytest.raises(OSError):
        services.receipt_mark_sent(donation_id=donation.pk, send=smtp_down)
    donation.refresh_from_db()
    assert donation.receipt_sent_at is None
    assert services.receipt_mark_sent(donation_id=donation.pk, send=receipt_send) is True


def test_receipt_in_french(client, campaign, stripe_fake, django_capture_on_commit_callbacks):
    response = client.post(
        f"/fr/campaigns/{campaign.slug}/donate/",
        {"amount": "1500", "email": "e@example.ca", "show_amount": "on"},
    )
    session_id = response["Location"].rsplit("/", 1)[1]

    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)

    assert "1\u00a0500,00\u00a0$" in mail.outbox[0].subject
