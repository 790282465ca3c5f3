"""Each factory builds a valid row (`full_clean`) with the values it promises, and the traits that
move money move the campaign's totals the way the services do."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import models

from audit.models import MoneyAction
from campaign.models import DeliveryStatus, StageState, SubscriberState
from core.money import cad
from donations.models import (
    CampaignTotals,
    Channel,
    ClosureState,
    DisputeState,
    DonationState,
    EventStatus,
    PledgeState,
    RefundStatus,
    ShareState,
)
from tests.support import factories as f

pytestmark = pytest.mark.django_db


def valid[M: models.Model](obj: M) -> M:
    obj.full_clean()
    return obj


def totals_of(campaign) -> CampaignTotals:
    return CampaignTotals.objects.get(campaign=campaign)


def test_users_and_their_traits():
    assert not valid(f.UserFactory.create(username="member")).is_staff
    assert f.UserFactory.create(staff=True).is_staff
    admin = f.UserFactory.create(superuser=True)
    assert admin.is_staff and admin.is_superuser
    assert admin.check_password("correct horse battery staple")


def test_campaign_and_its_traits():
    campaign = valid(f.CampaignFactory.create())
    assert campaign.legal_cost == cad("2000.00") and campaign.community_goal == cad("1500.00")
    assert campaign.organizer_share == cad("500.00") and campaign.is_active
    assert not f.CampaignFactory.create(inactive=True).is_active
    assert f.CampaignFactory.create(french=True).title_fr == "Fonds de défense juridique"
    assert f.CampaignFactory.create(to_a_cause=True).surplus_rule == "cause"


def test_updates_subscribers_and_deliveries():
    update = valid(f.UpdateFactory.create())
    assert update.is_visible
    assert not f.UpdateFactory.create(draft=True).is_visible
    assert not f.UpdateFactory.create(scheduled=True).is_visible
    assert valid(f.SubscriberFactory.create()).state == SubscriberState.PENDING
    confirmed = f.SubscriberFactory.create(confirmed=True)
    assert confirmed.state == SubscriberState.CONFIRMED and confirmed.confirmed_at
    assert f.SubscriberFactory.create(unsubscribed=True).unsubscribed_at
    delivery = valid(f.UpdateDeliveryFactory.create())
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.subscriber.campaign == delivery.update.campaign
    assert delivery.subscriber.state == SubscriberState.CONFIRMED
    assert f.UpdateDeliveryFactory.create(sent=True).sent_at
    assert f.UpdateDeliveryFactory.create(failed=True).error.startswith("550")


def test_legal_costs_go_through_the_ledger_service():
    campaign = f.CampaignFactory.create()
    hours = valid(f.LegalCostFactory.create(campaign=campaign))
    flat = f.LegalCostFactory.create(campaign=campaign, flat=True, paid=True)

    assert hours.amount == cad("1000.00")  # 4 h at the campaign's $250
    assert hours.rate == cad("250.00")
    assert flat.amount == cad("350.00") and flat.paid_on is not None
    campaign.refresh_from_db()
    assert campaign.legal_cost == cad("1350.00")  # the ledger now sets the legal cost
    assert campaign.goal_changes.count() == 2
    assert f.LegalCostFactory.create(private=True).is_private


def test_goal_change():
    change = valid(f.GoalChangeFactory.create())
    assert (change.old_legal_cost, change.new_legal_cost) == (cad("2000.00"), cad("3000.00"))


def test_stages_and_their_states():
    stage = valid(f.StageFactory.create())
    assert stage.title == "Trial preparation" and stage.position == 2
    assert stage.estimate == cad("10000.00")  # 40 h × $250
    assert stage.takes_pledges
    flat = f.StageFactory.create(estimated_hours=None, flat_amount=cad("350"))
    assert flat.estimate == cad("350.00")
    assert f.StageFactory.create(funding=True).state == StageState.FUNDING
    active = f.StageFactory.create(active=True)
    assert active.state == StageState.ACTIVE and active.activated_at
    assert f.StageFactory.create(cancelled=True).cancelled_at
    done = f.StageFactory.create(done=True)
    assert done.state == StageState.DONE and done.spent == cad("10000.00")
    target = f.StageFactory.create(all_or_nothing_target=True)
    assert target.all_or_nothing and target.pledge_target == cad("5000.00")
    assert target.pledge_deadline is not None


def test_a_pending_donation_counts_nowhere():
    donation = valid(f.DonationFactory.create())
    assert donation.state == DonationState.PENDING and not donation.is_counted
    assert not CampaignTotals.objects.filter(campaign=donation.campaign).exists()
    assert f.DonationFactory.create(flagged=True).flag
    assert f.DonationFactory.create(anonymous_gift=True).public_name == "Anonymous"


def test_a_confirmed_donation_moves_the_totals_through_fulfilment():
    donation = valid(f.DonationFactory.create(amount=cad("40.00"), confirmed=True))
    assert donation.state == DonationState.CONFIRMED and donation.confirmed_at
    assert donation.payment_intent_id == f"pi_{donation.pk}"
    totals = totals_of(donation.campaign)
    assert totals.gross == cad("40.00") and totals.donation_count == 1 and totals.donor_count == 1


def test_confirmed_donation_is_the_confirmed_trait():
    campaign = f.CampaignFactory.create()
    gift = f.confirmed_donation(campaign, "10.00", display_name="Luc")
    assert gift.is_counted and gift.amount == cad("10.00") and gift.display_name == "Luc"
    assert totals_of(campaign).gross == cad("10.00")


def test_refunds_through_stripes_figure():
    whole = f.DonationFactory.create(amount=cad("30.00"), refunded=True)
    assert whole.state == DonationState.REFUNDED and whole.amount_refunded == cad("30.00")
    assert totals_of(whole.campaign).raised == cad("0.00")

    part = f.DonationFactory.create(amount=cad("30.00"), refunded="10.00")
    assert part.state == DonationState.CONFIRMED and part.amount_refunded == cad("10.00")
    totals = totals_of(part.campaign)
    assert (totals.gross, totals.refunded, totals.raised) == (
        cad("30.00"),
        cad("10.00"),
        cad("20.00"),
    )


def test_disputes_through_the_dispute_service():
    held = f.DonationFactory.create(amount=cad("20.00"), disputed="open")
    assert held.dispute_state == DisputeState.OPEN
    assert totals_of(held.campaign).disputed == cad("20.00")
    lost = f.DonationFactory.create(amount=cad("20.00"), disputed="lost")
    assert lost.dispute_state == DisputeState.LOST
    assert totals_of(lost.campaign).raised == cad("0.00")
    won = f.DonationFactory.create(amount=cad("20.00"), disputed="won")
    assert won.dispute_state == DisputeState.WON
    assert totals_of(won.campaign).raised == cad("20.00")


def test_an_offline_gift_counts_at_once():
    gift = valid(f.OfflineGiftFactory.create())
    assert gift.channel == Channel.CHEQUE and gift.state == DonationState.CONFIRMED
    assert gift.reference.startswith("Cheque #")
    totals = totals_of(gift.campaign)
    assert totals.offline == cad("100.00") and totals.gross == cad("100.00")


def test_derived_rows_are_rows_only():
    totals = valid(f.CampaignTotalsFactory.create())
    assert totals.raised == cad("500.00") and totals.net == cad("484.00")
    assert (
        f.CampaignTotalsFactory.create(campaign=totals.campaign).pk == totals.pk
    )  # one per campaign
    assert valid(f.DonorTallyFactory.create()).counted == 1
    assert len(f.DonorTallyFactory.create().donor_key) == 64
    rollup = valid(f.DailyRollupFactory.create())
    assert rollup.raised == Decimal("75.00") and rollup.donation_count == 3
    tally = valid(f.AmountTallyFactory.create(amount=Decimal("25.00")))
    assert (tally.amount, tally.count) == (Decimal("25.00"), 1)


def test_stripe_events():
    event = valid(f.StripeEventFactory.create())
    assert event.status == EventStatus.RECEIVED
    assert event.payload["id"] == event.stripe_id
    assert event.payload["type"] == "checkout.session.completed"
    assert f.StripeEventFactory.create(processed=True).processed_at
    assert f.StripeEventFactory.create(ignored=True).status == EventStatus.IGNORED
    failed = f.StripeEventFactory.create(failed=True)
    assert failed.status == EventStatus.FAILED and failed.traceback.startswith("Traceback")


def test_refund_rows_and_a_confirmed_refund_through_the_domain():
    refund = valid(f.RefundFactory.create())
    assert refund.status == RefundStatus.REQUESTED and refund.amount == cad("10.00")
    assert refund.donation.is_counted
    assert refund.requested_by is not None and refund.requested_by.is_staff
    assert totals_of(refund.donation.campaign).refunded == cad("0.00")  # nothing moves yet
    assert f.RefundFactory.create(submitted=True).stripe_refund_id.startswith("re_test_")
    assert f.RefundFactory.create(failed=True).error == "expired_or_canceled_card"

    confirmed = f.RefundFactory.create(confirmed=True)
    assert confirmed.status == RefundStatus.CONFIRMED and confirmed.confirmed_at
    confirmed.donation.refresh_from_db()
    assert confirmed.donation.amount_refunded == cad("10.00")
    assert totals_of(confirmed.donation.campaign).raised == cad("15.00")


def test_pledges_and_a_charged_pledge_through_the_ledger():
    pledge = valid(f.PledgeFactory.create())
    assert pledge.state == PledgeState.PLEDGED and pledge.payment_method_id.startswith("pm_")
    assert pledge.donation is None
    assert f.PledgeFactory.create(setup=True).state == PledgeState.SETUP
    for trait, state in (
        ("cancelled", PledgeState.CANCELLED),
        ("released", PledgeState.RELEASED),
        ("needs_action", PledgeState.NEEDS_ACTION),
        ("failed", PledgeState.FAILED),
    ):
        assert f.PledgeFactory.create(**{trait: True}).state == state

    stage = f.StageFactory.create(active=True)
    charged = f.PledgeFactory.create(stage=stage, charged=True)
    assert charged.state == PledgeState.CHARGED and charged.charged_at
    assert charged.donation is not None and charged.donation.is_counted
    assert charged.donation.payment_intent_id == charged.payment_intent_id
    totals = totals_of(stage.campaign)
    assert totals.gross == cad("50.00") and totals.donation_count == 1


def test_closing_accounts_and_shares():
    closure = valid(f.CaseClosureFactory.create())
    assert closure.state == ClosureState.DONE and closure.balance == cad("0.00")
    assert f.CaseClosureFactory.create(refunding=True).state == ClosureState.REFUNDING
    share = valid(f.SurplusShareFactory.create())
    assert share.donation.campaign == share.closure.campaign and share.donation.is_counted
    assert share.outcome == ShareState.PENDING and share.amount == cad("5.00")
    assert f.SurplusShareFactory.create(manual=True).state == ShareState.MANUAL
    assert f.SurplusShareFactory.create(failed=True).error


def test_money_audit_entry():
    entry = valid(f.MoneyAuditLogFactory.create())
    assert entry.action == MoneyAction.REFUND and entry.username == "organizer"
    assert entry.detail == {"amount": "10.00", "reason": "Gave twice by mistake"}
