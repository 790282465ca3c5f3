"""'Until the legal cost is covered': when a gift crosses the community goal (or the organizer
closes the case), each such monthly gift is cancelled at period end through Stripe exactly once,
the supporter is thanked in their language, and nothing more is charged."""

from __future__ import annotations

import pytest

from core.money import cad
from donations import selectors
from donations.models import MonthlyEndReason, MonthlyStatus, SurplusShare
from donations.services import monthly_covered, surplus
from tests.support.factories import CampaignFactory
from tests.support.monthly import start_monthly, subscribed
from tests.support.payments import completed_event, deliver, start_checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_goal(db):
    return CampaignFactory.create(slug="small-goal", community_goal=cad("100.00"))


@pytest.fixture
def run(client, django_capture_on_commit_callbacks):
    def send(event):
        response = deliver(client, event, django_capture_on_commit_callbacks)
        assert response.status_code == 200, response.content

    return send


def monthly(client, stripe_fake, run, campaign, email, *, until_covered, prefix=""):
    fields = {"email": email, **({"until_covered": "on"} if until_covered else {})}
    gift, session_id = start_monthly(client, campaign, amount="10", prefix=prefix, **fields)
    run(subscribed(stripe_fake, session_id))
    gift.refresh_from_db()
    return gift


def cancels(stripe_fake, gift):
    return [
        u
        for u in stripe_fake.subscription_updates(gift.subscription_id)
        if "cancel_at_period_end" in u
    ]


def test_crossing_the_goal_cancels_each_until_covered_gift_once_and_thanks_them(
    client, small_goal, stripe_fake, run, mailoutbox
):
    a = monthly(client, stripe_fake, run, small_goal, "a@example.org", until_covered=True)
    b = monthly(
        client, stripe_fake, run, small_goal, "b@example.org", until_covered=True, prefix="/fr"
    )
    keeps = monthly(client, stripe_fake, run, small_goal, "c@example.org", until_covered=False)
    mailoutbox.clear()
    assert not selectors.campaign_totals(campaign=small_goal).goal_reached  # $30 of $100

    _, session_id = start_checkout(client, small_goal, amount="75")
    run(completed_event(stripe_fake, session_id))  # $105: the goal is crossed
    _, session_id = start_checkout(client, small_goal, amount="5")
    run(completed_event(stripe_fake, session_id))  # still above: nothing more happens
    run(stripe_fake.event("invoice.paid", stripe_fake.renew(keeps.subscription_id)))

    assert cancels(stripe_fake, a) == [{"cancel_at_period_end": "true"}]
    assert cancels(stripe_fake, b) == [{"cancel_at_period_end": "true"}]
    assert cancels(stripe_fake, keeps) == []
    for gift in (a, b):
        gift.refresh_from_db()
        assert (gift.status, gift.end_reason) == (MonthlyStatus.ENDING, MonthlyEndReason.COVERED)
        assert stripe_fake.subscription(gift.subscription_id)["cancel_at_period_end"] is True
    keeps.refresh_from_db()
    assert keeps.status == MonthlyStatus.ACTIVE
    ending = sorted(
        (m for m in mailoutbox if "monthly" in m.subject.lower() or "mensuel" in m.subject),
        key=lambda m: m.to,
    )
    assert [m.to for m in ending] == [["a@example.org"], ["b@example.org"]]
    assert ending[0].subject == "The legal cost is covered: your monthly gift ends here, thank you"
    assert "Nothing more will be charged" in ending[0].body
    assert "In all you gave $10.00 in 1 month." in ending[0].body
    assert (
        ending[1].subject
        == "Les frais juridiques sont couverts\u00a0: votre don mensuel s’arrête ici, merci"
    )
    assert "Plus rien ne sera prélevé" in ending[1].body

    # The month already paid runs out: Stripe ends them; no renewal is charged or counted.
    run(
        stripe_fake.event(
            "customer.subscription.updated", stripe_fake.subscription(a.subscription_id)
        )
    )
    run(
        stripe_fake.event(
            "customer.subscription.deleted", stripe_fake.end_period(a.subscription_id)
        )
    )
    a.refresh_from_db()
    assert a.status == MonthlyStatus.ENDED
    t = selectors.campaign_totals(campaign=small_goal)
    assert (t.raised, t.donation_count) == (cad("120.00"), 6)
    assert selectors.monthly_pace(campaign=small_goal, remaining=t.remaining).supporters == 1


def test_two_claims_at_once_make_one_stripe_request(client, small_goal, stripe_fake, run):
    gift = monthly(client, stripe_fake, run, small_goal, "a@example.org", until_covered=True)
    _, session_id = start_checkout(client, small_goal, amount="95")
    run(completed_event(stripe_fake, session_id))  # crossed: claimed and cancelled

    # Two gifts crossing together each run the check after their commit: the claim is taken.
    assert monthly_covered.covered_check(campaign_id=small_goal.pk) == []
    assert monthly_covered.covered_check(campaign_id=small_goal.pk) == []

    assert len(cancels(stripe_fake, gift)) == 1


def test_joining_after_the_goal_is_met_stops_after_the_first_month(
    client, small_goal, stripe_fake, run
):
    _, session_id = start_checkout(client, small_goal, amount="150")
    run(completed_event(stripe_fake, session_id))

    gift = monthly(client, stripe_fake, run, small_goal, "late@example.org", until_covered=True)

    assert gift.donations.count() == 1
    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.ENDING
    assert len(cancels(stripe_fake, gift)) == 1


def test_closing_the_case_stops_every_monthly_gift_first_and_refunds_renewals_pro_rata(
    client, campaign, stripe_fake, run, django_capture_on_commit_callbacks
):
    until = monthly(client, stripe_fake, run, campaign, "a@example.org", until_covered=True)
    plain = monthly(client, stripe_fake, run, campaign, "b@example.org", until_covered=False)
    run(stripe_fake.event("invoice.paid", stripe_fake.renew(plain.subscription_id)))
    preview = surplus.surplus_preview(campaign=campaign, recovered=cad(0))
    assert preview.surplus == cad("28.23")  # $30 less three fees of $0.59

    with django_capture_on_commit_callbacks(execute=True):
        closure = surplus.case_close(
            campaign=campaign, recovered=cad(0), expected_surplus=preview.surplus
        )

    for gift, reason in ((until, MonthlyEndReason.CLOSURE), (plain, MonthlyEndReason.CLOSURE)):
        gift.refresh_from_db()
        assert (gift.status, gift.end_reason) == (MonthlyStatus.ENDING, reason)
        assert len(cancels(stripe_fake, gift)) == 1
    shares = SurplusShare.objects.filter(closure=closure).select_related("donation")
    assert sorted(s.donation.monthly_gift_id or 0 for s in shares) == [until.pk, plain.pk, plain.pk]
    assert sum(s.amount.amount for s in shares) == preview.surplus.amount
    # Every share went to Stripe as a refund of its own month's payment.
    refunded = {
        r["params"]["payment_intent"] for r in stripe_fake.requests_to("POST", "/v1/refunds")
    }
    assert refunded == {s.donation.payment_intent_id for s in shares}


def test_a_stop_claimed_with_the_broker_down_is_sent_by_the_sweep(
    client, small_goal, stripe_fake, run, monkeypatch, mailoutbox
):
    from core import jobs
    from donations import tasks

    gift = monthly(client, stripe_fake, run, small_goal, "a@example.org", until_covered=True)
    mailoutbox.clear()
    send = jobs.send

    def broker_down_for_stops(task, *args, countdown=None):
        return False if task == "donations.tasks.monthly_stop" else send(task, *args)

    monkeypatch.setattr(jobs, "send", broker_down_for_stops)
    _, session_id = start_checkout(client, small_goal, amount="95")
    run(completed_event(stripe_fake, session_id))
    gift.refresh_from_db()
    assert gift.stop_claimed_at is not None and gift.status == MonthlyStatus.ACTIVE
    monkeypatch.undo()

    assert tasks.monthly_sweep()["stops"] == 1
    tasks.monthly_sweep()  # again: nothing is asked or sent twice

    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.ENDING
    assert len(cancels(stripe_fake, gift)) == 1
    assert [m.subject for m in mailoutbox if m.to == ["a@example.org"]] == [
        "The legal cost is covered: your monthly gift ends here, thank you"
    ]
