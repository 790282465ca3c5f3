"""A released pledge is never charged and kept (issue 13, 1): the Checkout its pledger opened to
authenticate is expired through Stripe when the pledge is released, and a payment that still
gets through (paid in the moment before the expiry) is not counted and is refunded automatically."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from audit.models import MoneyAuditLog
from core.money import cad
from donations import selectors
from donations.models import (
    DonationState,
    EventStatus,
    Pledge,
    PledgeState,
    RefundStatus,
    StripeEvent,
)
from donations.services import stages
from testing.stripe_fake import StripeFake
from tests.donations.test_pledges import activate, donation_of, pledge_on_fake
from tests.support.factories import StageFactory
from tests.support.payments import deliver

pytestmark = pytest.mark.django_db


def pay_page_opened(client: Any, campaign: Any, fake: StripeFake, on_commit: Any) -> Pledge:
    """Stage activated → the bank wants the pledger → the pledger opens the pay page (Checkout)."""
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, fake, on_commit, amount="40", card="auth")
    activate(stage, on_commit)
    link = re.search(r"http://testserver(/pledges/\S+/pay/\?t=\S+)", str(mail.outbox[-1].body))
    assert link
    path = link.group(1)
    response = client.post(path.split("?")[0], {"t": path.split("t=")[1]})
    assert response.status_code == 303
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.NEEDS_ACTION
    assert donation_of(pledge).checkout_session_id
    return pledge


def test_releasing_a_pledge_expires_the_checkout_its_pledger_opened(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    pledge = pay_page_opened(client, campaign, stripe_fake, on_commit)
    session_id = donation_of(pledge).checkout_session_id
    assert stripe_fake.sessions[session_id]["status"] == "open"
    mail.outbox.clear()

    with on_commit(execute=True):
        stages.stage_cancel(stage_id=pledge.stage_id)

    pledge.refresh_from_db()
    assert pledge.state == PledgeState.RELEASED
    assert stripe_fake.requests_to("POST", f"/v1/checkout/sessions/{session_id}/expire")
    assert stripe_fake.sessions[session_id]["status"] == "expired"  # nothing can be paid there
    assert "will not go ahead" in mail.outbox[-1].body
    assert selectors.campaign_totals(campaign=campaign).gross == cad("0.00")


@pytest.mark.parametrize("webhook_first", [True, False])
def test_a_payment_that_beats_the_expiry_is_not_counted_and_is_refunded(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks, webhook_first
):
    on_commit = django_capture_on_commit_callbacks
    pledge = pay_page_opened(client, campaign, stripe_fake, on_commit)
    donation = donation_of(pledge)
    session_id = donation.checkout_session_id

    with on_commit(execute=False) as release_tasks:
        stages.stage_cancel(stage_id=pledge.stage_id)
    # The pledger pays the open session before the release task expires it.
    paid = stripe_fake.event("checkout.session.completed", stripe_fake.complete(session_id))
    if webhook_first:
        deliver(client, paid, on_commit)
    with on_commit(execute=True):
        for task in release_tasks:
            task()
    if not webhook_first:
        deliver(client, paid, on_commit)

    donation.refresh_from_db()
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.RELEASED  # not "charged"
    assert "released" in donation.flag
    assert selectors.campaign_totals(campaign=campaign).gross == cad("0.00")  # never counted
    assert StripeEvent.objects.get(stripe_id=paid["id"]).status == EventStatus.FLAGGED
    [refund] = donation.refunds.all()
    assert (refund.amount, refund.status) == (cad("40.00"), RefundStatus.SUBMITTED)
    charge = stripe_fake.charge_for_session(session_id)
    assert charge["amount_refunded"] == 4000  # the money went back at Stripe
    assert MoneyAuditLog.objects.filter(action="refund", detail__automatic=True).count() == 1

    deliver(client, stripe_fake.event("charge.refunded", dict(charge)), on_commit)
    donation.refresh_from_db()
    refund.refresh_from_db()
    assert donation.state == DonationState.REFUNDED
    assert refund.status == RefundStatus.CONFIRMED
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.gross, t.refunded, t.raised, t.donation_count) == (
        cad("0.00"), cad("0.00"), cad("0.00"), 0,
    )  # fmt: skip
    deliver(client, paid, on_commit)  # redelivered: still one refund
    assert donation.refunds.count() == 1


def test_a_pledge_cancelled_before_its_card_is_saved_has_its_setup_checkout_expired(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    from donations.services import pledges

    stage = StageFactory.create(campaign=campaign)
    response = client.post(
        f"/campaigns/{campaign.slug}/stages/{stage.pk}/pledge/",
        {"amount": "50", "email": "luc@example.ca", "display_name": "Luc"},
    )
    session_id = response["Location"].rsplit("/", 1)[1]
    pledge = Pledge.objects.get(checkout_session_id=session_id)

    with django_capture_on_commit_callbacks(execute=True):
        pledges.pledge_cancel(pledge=pledge)

    assert stripe_fake.sessions[session_id]["status"] == "expired"  # no card saved after
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CANCELLED and pledge.detached_at is not None
