"""The gateway's requests are ones Stripe accepts (the fake checks them against the SDK's types),
and what Stripe refuses for its form is our bug, never the donor's card.

Defects the strict fake surfaced: the setup-mode session sent the removed `payment_method_types`
(tests/donations/test_pledges.py), the off-session charge confirmed without `return_url` or
`allow_redirects=never` and recorded the refusal as a decline, and one idempotency key per
donation was reused with the other language's parameters.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail

from donations import selectors
from donations import tasks as pledge_tasks
from donations.models import Donation, PledgeState, StripeEvent
from tests.donations.test_pledges import activate, pledge_on_fake
from tests.support.factories import StageFactory
from tests.support.payments import completed_event, deliver

pytestmark = pytest.mark.django_db

SESSIONS = "/v1/checkout/sessions"


def test_off_session_charge_refuses_redirects_so_stripe_accepts_it(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, stripe_fake, on_commit)

    activate(stage, on_commit)

    [charge] = stripe_fake.charge_requests_for(str(pledge.public_id))
    params = charge["params"]
    assert (params["off_session"], params["confirm"]) == ("true", "true")
    assert params["automatic_payment_methods"] == {"enabled": "true", "allow_redirects": "never"}
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CHARGED
    assert stripe_fake.rejections == []


def test_a_refused_charge_request_is_not_recorded_as_a_decline(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, stripe_fake, on_commit)
    sent_before = len(mail.outbox)
    stripe_fake.fail_next(400, "invalid_request_error")  # Stripe refuses our request once

    activate(stage, on_commit)

    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CHARGING  # not FAILED: left for the retry and the sweep
    assert pledge.last_error == "Stripe refused the request (not a decline): Simulated failure."
    assert len(mail.outbox) == sent_before  # no "your card was declined" email

    with on_commit(execute=True):
        pledge_tasks.charge_pledge(pledge.pk)  # the retry, once the request is fixed

    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CHARGED
    assert len(stripe_fake.intents_for_pledge(str(pledge.public_id))) == 1


def test_a_detached_card_is_still_a_decline_the_pledger_can_fix(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, stripe_fake, on_commit)
    stripe_fake.payment_methods[pledge.payment_method_id]["customer"] = None  # detached at Stripe

    activate(stage, on_commit)

    pledge.refresh_from_db()
    assert pledge.state == PledgeState.FAILED
    assert "detached from a Customer" in pledge.last_error
    assert "declined" in mail.outbox[-1].subject.lower()


def test_try_again_in_the_other_language_opens_a_new_session(client, campaign, donor, stripe_fake):
    """The donor opened Checkout in English, came back, switched to French and pressed "Try
    again": Stripe would answer `idempotency_error` to the English key with French parameters."""
    english = client.post(f"/campaigns/{campaign.slug}/donate/", donor)
    donation = Donation.objects.get()

    french = client.post(f"/fr/donations/{donation.public_id}/retry/")
    french_again = client.post(f"/fr/donations/{donation.public_id}/retry/")

    assert english.status_code == french.status_code == french_again.status_code == 303
    en, fr, fr_again = stripe_fake.requests_to("POST", SESSIONS)
    assert (en["params"]["locale"], fr["params"]["locale"]) == ("en", "fr")
    assert "/fr/" in fr["params"]["success_url"] and "/fr/" not in en["params"]["success_url"]
    en_key, fr_key = en["headers"]["idempotency-key"], fr["headers"]["idempotency-key"]
    assert en_key != fr_key
    assert en_key.startswith(f"checkout-{donation.public_id}-")
    assert fr_key.startswith(f"checkout-{donation.public_id}-")
    assert fr_again["headers"]["idempotency-key"] == fr_key  # the same request: Stripe's replay
    assert french_again["Location"] == french["Location"] != english["Location"]
    assert len(stripe_fake.sessions) == 2
    donation.refresh_from_db()
    assert french["Location"].endswith(donation.checkout_session_id)


def test_the_session_a_language_switch_replaced_is_expired_and_its_expiry_ignored(
    client, campaign, donor, stripe_fake, django_capture_on_commit_callbacks
):
    """Two open sessions for one donation could both be paid: the replaced one is expired at
    Stripe, and its `checkout.session.expired` event does not expire the donation being paid."""
    client.post(f"/campaigns/{campaign.slug}/donate/", donor)
    donation = Donation.objects.get()
    english_session = donation.checkout_session_id

    client.post(f"/fr/donations/{donation.public_id}/retry/")

    donation.refresh_from_db()
    french_session = donation.checkout_session_id
    assert french_session != english_session
    assert stripe_fake.sessions[english_session]["status"] == "expired"
    assert stripe_fake.sessions[french_session]["status"] == "open"
    expired = stripe_fake.event("checkout.session.expired", stripe_fake.sessions[english_session])
    deliver(client, expired, django_capture_on_commit_callbacks)
    donation.refresh_from_db()
    assert donation.state == "pending"

    paid = completed_event(stripe_fake, french_session)
    deliver(client, paid, django_capture_on_commit_callbacks)
    donation.refresh_from_db()
    raised = selectors.campaign_totals(campaign=campaign).raised
    assert (donation.state, raised) == ("confirmed", donation.amount)


def test_pay_your_pledge_in_both_languages(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge_on_fake(client, stage, stripe_fake, on_commit, amount="40", card="auth")
    activate(stage, on_commit)
    link = re.search(r"http://testserver(/pledges/\S+)/\?t=(\S+)", str(mail.outbox[-1].body))
    assert link
    path, token = link.group(1), link.group(2)

    english = client.post(f"{path}/", {"t": token})
    french = client.post(f"/fr{path}/", {"t": token})

    assert english.status_code == french.status_code == 303
    en, fr = (
        r for r in stripe_fake.requests_to("POST", SESSIONS) if r["params"]["mode"] == "payment"
    )
    assert (en["params"]["locale"], fr["params"]["locale"]) == ("en", "fr")
    assert en["headers"]["idempotency-key"] != fr["headers"]["idempotency-key"]
    assert english["Location"] != french["Location"]


def test_an_event_with_a_decimal_field_is_stored_as_sent(
    client, campaign, donor, stripe_fake, django_capture_on_commit_callbacks
):
    """SDK 16 reads `decimal_string` fields (Checkout's `currency_conversion.fx_rate`) as
    `Decimal`, which a JSONField cannot store: the webhook stores the verified raw body."""
    client.post(f"/campaigns/{campaign.slug}/donate/", donor)
    session = stripe_fake.complete(Donation.objects.get().checkout_session_id)
    session["currency_conversion"] = {
        "amount_subtotal": 1850,
        "amount_total": 1850,
        "fx_rate": "1.3513513513",
        "source_currency": "usd",
    }
    event = stripe_fake.event("checkout.session.completed", session)

    response = deliver(client, event, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.payload["data"]["object"]["currency_conversion"]["fx_rate"] == "1.3513513513"
