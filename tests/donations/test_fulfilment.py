"""One fulfilment service for the webhook, the success page and the demo: counted exactly once."""

from __future__ import annotations

import pytest

from core.money import cad
from donations import gateway, selectors, services
from donations.models import Donation, DonationState
from tests.support.payments import completed_event, deliver, start_checkout

pytestmark = pytest.mark.django_db


def totals(campaign):
    return selectors.campaign_totals(campaign=campaign)


def thanks_url(donation: Donation, session_id: str) -> str:
    return f"/donations/{donation.public_id}/thanks/?session_id={session_id}"


def test_checkout_urls_lead_back_to_the_success_and_cancel_pages(client, campaign, stripe_fake):
    donation, session_id = start_checkout(client, campaign)

    session = stripe_fake.sessions[session_id]
    assert session["success_url"] == (
        f"http://testserver/donations/{donation.public_id}/thanks/"
        "?session_id={CHECKOUT_SESSION_ID}"
    )
    assert session["cancel_url"] == f"http://testserver/donations/{donation.public_id}/cancelled/"


def test_donor_closes_the_tab_and_the_webhook_still_counts(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign)

    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)

    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert totals(campaign).raised == cad("25.00")


def test_success_page_before_the_webhook_confirms_by_asking_stripe(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign, amount="40")
    event = completed_event(stripe_fake, session_id)

    response = client.get(thanks_url(donation, session_id))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Your gift of $40.00 is confirmed." in html
    assert "It pays for 9 minutes of legal work." in html
    assert 'http-equiv="refresh"' not in html
    assert stripe_fake.requests_to("GET", f"/v1/checkout/sessions/{session_id}")
    assert totals(campaign).raised == cad("40.00")

    deliver(client, event, django_capture_on_commit_callbacks)  # the webhook, late

    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    t = totals(campaign)
    assert (t.raised, t.donation_count, t.donor_count) == (cad("40.00"), 1, 1)


def test_webhook_first_then_success_page_counts_once_and_does_not_ask_stripe(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    donation, session_id = start_checkout(client, campaign)
    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)
    asked_before = len(stripe_fake.requests_to("GET", f"/v1/checkout/sessions/{session_id}"))

    for _ in range(3):
        response = client.get(thanks_url(donation, session_id))
        assert "is confirmed" in response.content.decode()

    assert len(stripe_fake.requests_to("GET", f"/v1/checkout/sessions/{session_id}")) == (
        asked_before
    )
    assert totals(campaign).raised == cad("25.00")
    assert totals(campaign).donation_count == 1


def test_success_page_while_the_payment_is_still_processing_refreshes_itself(
    client, campaign, stripe_fake
):
    donation, session_id = start_checkout(client, campaign)
    stripe_fake.complete(session_id, payment_status="unpaid")

    response = client.get(thanks_url(donation, session_id))

    html = response.content.decode()
    assert "We are confirming your payment" in html
    assert '<meta http-equiv="refresh" content="5">' in html
    donation.refresh_from_db()
    assert donation.state == DonationState.PENDING  # the webhooks move it on
    assert totals(campaign).raised == cad(0)


def test_success_page_visited_before_paying_changes_nothing(client, campaign, stripe_fake):
    """The session id is in Checkout's address: typing the success URL early must not count."""
    donation, session_id = start_checkout(client, campaign)

    response = client.get(thanks_url(donation, session_id))

    assert "We are confirming your payment" in response.content.decode()
    donation.refresh_from_db()
    assert donation.state == DonationState.PENDING
    assert totals(campaign).raised == cad(0)


def test_success_page_with_a_forged_session_id_asks_nobody(client, campaign, stripe_fake):
    donation, session_id = start_checkout(client, campaign)
    other, other_session = start_checkout(client, campaign)
    stripe_fake.complete(other_session)

    response = client.get(thanks_url(donation, other_session))

    assert "We are confirming your payment" in response.content.decode()
    assert not stripe_fake.requests_to("GET", f"/v1/checkout/sessions/{other_session}")
    assert totals(campaign).raised == cad(0)


def test_success_page_survives_stripe_being_down(client, campaign, stripe_fake):
    donation, session_id = start_checkout(client, campaign)
    stripe_fake.complete(session_id)
    stripe_fake.fail_next(500, times=3)

    response = client.get(thanks_url(donation, session_id))

    assert response.status_code == 200
    assert "We are confirming your payment" in response.content.decode()


def test_unknown_donation_pages_are_404(client, db):
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/donations/{missing}/thanks/").status_code == 404
    assert client.get(f"/donations/{missing}/cancelled/").status_code == 404


def test_cancel_page_keeps_nothing_as_paid(client, campaign, stripe_fake):
    donation, _ = start_checkout(client, campaign)

    response = client.get(f"/donations/{donation.public_id}/cancelled/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Payment cancelled" in html
    assert "Nothing was charged." in html
    assert f'href="/campaigns/{campaign.slug}/"' in html
    donation.refresh_from_db()
    assert donation.state == DonationState.CANCELLED
    assert totals(campaign).raised == cad(0)


def test_paying_after_cancelling_still_counts(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    """The member pressed Back on Checkout, then returned to it and paid: nothing is lost."""
    donation, session_id = start_checkout(client, campaign)
    client.get(f"/donations/{donation.public_id}/cancelled/")

    deliver(client, completed_event(stripe_fake, session_id), django_capture_on_commit_callbacks)

    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert totals(campaign).raised == cad("25.00")
    # The cancel page of a counted donation leads to its thank-you page instead.
    response = client.get(f"/donations/{donation.public_id}/cancelled/")
    assert response.status_code == 302
    assert response["Location"] == f"/donations/{donation.public_id}/thanks/"


def test_fulfil_is_idempotent_when_called_directly(campaign):
    donation = Donation.objects.create(campaign=campaign, amount=cad("60"), email="x@example.org")
    result = gateway.CheckoutResult(
        session_id="cs_direct",
        payment_status="paid",
        amount_total=cad("60"),
        currency="CAD",
        donation_ref=str(donation.public_id),
    )

    for _ in range(3):
        services.donation_fulfil(result=result)

    t = totals(campaign)
    assert (t.gross, t.raised, t.donation_count, t.donor_count) == (cad("60"), cad("60"), 1, 1)


def test_fulfil_in_another_currency_is_flagged_not_counted(campaign):
    donation = Donation.objects.create(campaign=campaign, amount=cad("60"))
    result = gateway.CheckoutResult(
        session_id="cs_usd",
        payment_status="paid",
        amount_total=cad("60"),
        currency="USD",
        donation_ref=str(donation.public_id),
    )

    donation = services.donation_fulfil(result=result)

    assert "USD" in donation.flag
    assert totals(campaign).raised == cad(0)


def test_donors_are_counted_by_email_across_gifts(campaign):
    from tests.support.factories import confirmed_donation

    confirmed_donation(campaign, "10.00", email="Same@Example.org")
    confirmed_donation(campaign, "10.00", email=" same@example.org ")
    confirmed_donation(campaign, "10.00", email="other@example.org")
    confirmed_donation(campaign, "10.00", email="")

    t = totals(campaign)
    assert (t.raised, t.donation_count, t.donor_count) == (cad("40.00"), 4, 3)
