"""Resolving a flag reads the flagged payment as the object its event carries: a Checkout Session
(`amount_total`) or a pledge's off-session PaymentIntent (`amount_received`)."""

from __future__ import annotations

import pytest

from core.money import cad
from donations import selectors, services
from donations.models import DonationState, EventStatus, Pledge, PledgeState, StripeEvent
from tests.donations.test_pledges import activate, pledge_on_fake
from tests.support.factories import StageFactory
from tests.support.payments import deliver

pytestmark = pytest.mark.django_db


def test_resolving_a_flagged_pledge_charge_counts_the_amount_received(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks, admin_user
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, stripe_fake, on_commit, amount="50")
    activate(stage, on_commit)
    pledge.refresh_from_db()
    intent = dict(stripe_fake.intents[pledge.payment_intent_id])
    intent["amount_received"] = 5500  # Stripe says $55 was received for a $50 pledge
    deliver(client, stripe_fake.event("payment_intent.succeeded", intent), on_commit)
    donation = Pledge.objects.get(pk=pledge.pk).donation
    assert donation is not None and "does not match" in donation.flag
    assert StripeEvent.objects.get(type="payment_intent.succeeded").status == EventStatus.FLAGGED
    assert selectors.campaign_totals(campaign=campaign).gross == cad("0.00")

    services.donation_flag_resolve(donation=donation, user=admin_user)

    donation.refresh_from_db()
    assert (donation.flag, donation.state, donation.amount) == (
        "", DonationState.CONFIRMED, cad("55.00"),
    )  # fmt: skip
    assert donation.payment_intent_id == pledge.payment_intent_id
    totals = selectors.campaign_totals(campaign=campaign)
    assert (totals.gross, totals.donation_count) == (cad("55.00"), 1)
    assert Pledge.objects.get(pk=pledge.pk).state == PledgeState.CHARGED


def test_a_flagged_pledge_charge_in_another_currency_is_not_counted(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, stripe_fake, on_commit, amount="50")
    activate(stage, on_commit)
    pledge.refresh_from_db()
    intent = {**stripe_fake.intents[pledge.payment_intent_id], "currency": "usd"}
    deliver(client, stripe_fake.event("payment_intent.succeeded", intent), on_commit)
    donation = Pledge.objects.get(pk=pledge.pk).donation
    assert donation is not None and donation.flag

    with pytest.raises(services.FlagNotResolvable, match="USD"):
        services.donation_flag_resolve(donation=donation)
    assert selectors.campaign_totals(campaign=campaign).gross == cad("0.00")
