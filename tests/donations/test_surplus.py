"""The surplus rule: exact pro-rata shares (largest remainder), refunds through the gateway, offline
gifts listed for repayment by hand, and final accounts that balance to zero."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign.models import Stage, StageState
from core.money import cad
from donations import selectors, services
from donations.models import CaseClosure, Channel, ShareState, SurplusShare
from donations.services import surplus
from tests.support.factories import confirmed_donation
from tests.support.payments import completed_event, deliver, start_checkout

# --- The split, by hand -----------------------------------------------------------------------


def test_split_hand_computed_with_largest_remainders():
    # 100 cents over 1:1:1 → 33.33 each; the one cent left goes to the first (ties: earlier gift).
    assert surplus.split_pro_rata(
        surplus=100, gifts={"a": 500, "b": 500, "c": 500}, minimum=0
    ).shares == {
        "a": 34,
        "b": 33,
        "c": 33,
    }
    # $10.00 over $25 / $50 / $100 gifts: quotas 142.857, 285.714, 571.428 → remainders .857 > .714
    # > .428: the one cent goes to the $25 gift.
    split = surplus.split_pro_rata(
        surplus=1000, gifts={"a": 2500, "b": 5000, "c": 10000}, minimum=0
    )
    assert split.shares == {"a": 143, "b": 286, "c": 571}
    assert split.to_cause == 0


def test_split_below_minimum_is_redistributed_to_the_others():
    # $60 over gifts of $10, $100, $500 at a $5 minimum: the $10 gift's share ($0.98) is under $5,
    # so it is dropped and its money goes to the others: 6000 × 100/600 = 1000, × 500/600 = 5000.
    split = surplus.split_pro_rata(
        surplus=6000, gifts={"small": 1000, "mid": 10000, "big": 50000}, minimum=500
    )
    assert split.shares == {"mid": 1000, "big": 5000}
    assert split.to_cause == 0


def test_split_never_refunds_more_than_given_and_sends_the_rest_to_the_cause():
    split = surplus.split_pro_rata(surplus=10000, gifts={"a": 2500, "b": 5000}, minimum=500)
    assert split.shares == {"a": 2500, "b": 5000}
    assert split.to_cause == 2500


def test_split_where_nobody_reaches_the_minimum_goes_to_the_cause():
    split = surplus.split_pro_rata(
        surplus=600, gifts={"a": 10000, "b": 10000, "c": 10000}, minimum=500
    )
    assert split.shares == {}
    assert split.to_cause == 600


@settings(max_examples=300, deadline=None)
@given(
    gifts=st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=0, max_size=40),
    surplus_cents=st.integers(min_value=0, max_value=5_000_000),
    minimum=st.integers(min_value=0, max_value=2_000),
)
def test_split_property(gifts, surplus_cents, minimum):
    by_key = dict(enumerate(gifts))
    split = surplus.split_pro_rata(surplus=surplus_cents, gifts=by_key, minimum=minimum)

    # Every cent is accounted for, exactly.
    assert sum(split.shares.values()) + split.to_cause == surplus_cents
    for key, share in split.shares.items():
        assert 0 < share <= by_key[key]  # nobody gets more than they gave
        assert share >= minimum  # nothing below the minimum is refunded
    # The cause gets something only when every donor who gets a share is repaid in full (nobody
    # can take more), or when no share reaches the minimum.
    if split.to_cause:
        assert all(share == by_key[key] for key, share in split.shares.items())
    if surplus_cents >= sum(gifts):
        assert split.shares == {k: v for k, v in by_key.items() if v >= max(minimum, 1)}
    # Proportional: shares of kept gifts differ from the exact quota by less than one cent.
    if split.shares and not split.to_cause:
        kept = sum(by_key[k] for k in split.shares)
        for key, share in split.shares.items():
            assert abs(share * kept - surplus_cents * by_key[key]) < kept


# --- Closing a case ---------------------------------------------------------------------------


def spend(campaign, amount: str, title: str = "Answer to the letters") -> Stage:
    return Stage.objects.create(
        campaign=campaign,
        title=title,
        flat_amount=cad(amount),
        spent=cad(amount),
        state=StageState.DONE,
    )


@pytest.mark.django_db
def test_preview_then_close_refunds_through_stripe_and_the_books_balance(
    client, admin_client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    paid = []
    for amount in ("25", "50", "100"):
        donation, session_id = start_checkout(client, campaign, amount=amount)
        deliver(client, completed_event(stripe_fake, session_id), on_commit)
        paid.append((donation, session_id))
    offline = confirmed_donation(campaign, "25.00", channel=Channel.CHEQUE)
    spend(campaign, "150.00")
    # Raised $200, Stripe's fees $5.98 (1.03 + 1.75 + 3.20), spent $150, recovered $35.98 from the
    # other side: an $80 surplus over $200 of gifts.

    form = admin_client.get("/admin/donations/caseclosure/add/")
    assert form.status_code == 200
    preview = admin_client.post(
        "/admin/donations/caseclosure/add/", {"campaign": campaign.pk, "recovered": "35.98"}
    )
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "$80.00" in page
    assert "Repay by hand (Cheque)" in page
    assert CaseClosure.objects.count() == 0  # nothing happens before the confirmation

    with on_commit(execute=True):
        done = admin_client.post(
            "/admin/donations/caseclosure/add/",
            {
                "campaign": campaign.pk,
                "recovered": "35.98",
                "expected_surplus": "80.00",
                "confirm": "yes",
            },
        )
    assert done.status_code == 302

    closure = CaseClosure.objects.get()
    shares = {s.donation_id: s for s in SurplusShare.objects.all()}
    # 8000 cents over 2500/5000/10000/2500 (total 20000): exactly 10, 20, 40 and 10 dollars.
    assert {d.pk: shares[d.pk].amount for d, _ in paid} == {
        paid[0][0].pk: cad("10.00"),
        paid[1][0].pk: cad("20.00"),
        paid[2][0].pk: cad("40.00"),
    }
    assert shares[offline.pk].amount == cad("10.00")
    assert shares[offline.pk].state == ShareState.MANUAL
    assert all(shares[d.pk].state == ShareState.REQUESTED for d, _ in paid)
    assert [shares[d.pk].outcome for d, _ in paid] == ["submitted"] * 3
    refunds = stripe_fake.requests_to("POST", "/v1/refunds")
    assert sorted(r["params"]["amount"] for r in refunds) == ["1000", "2000", "4000"]
    # Through the admin's refund path: one Refund row each, its own idempotency key.
    sent = [shares[d.pk].refund for d, _ in paid]
    assert {r["headers"]["idempotency-key"] for r in refunds} == {
        f"refund-{refund.public_id}" for refund in sent if refund is not None
    }
    assert closure.surplus == cad("80.00")
    assert closure.refunded == cad("80.00")
    assert closure.given == cad("0.00")
    assert closure.balance == cad("0.00")
    assert closure.state == "done"

    # Stripe confirms each refund by webhook; the totals follow, once.
    for _, session_id in paid:
        charge = stripe_fake.charge_for_session(session_id)
        deliver(client, stripe_fake.event("charge.refunded", charge), on_commit)
    assert selectors.campaign_totals(campaign=campaign).refunded == cad("70.00")
    assert surplus.closure_outcomes(closure_id=closure.pk) == {"confirmed": 3, "manual": 1}
    closure_page = admin_client.get(f"/admin/donations/caseclosure/{closure.pk}/change/")
    assert "confirmed: 3, manual: 1" in closure_page.content.decode()

    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "Final accounts" in page
    assert 'data-field="final-raised">$200.00' in page
    assert 'data-field="final-fees">−$5.98' in page
    assert 'data-field="final-recovered">$35.98' in page
    assert 'data-field="final-spent">−$150.00' in page
    assert 'data-field="final-refunded">−$80.00' in page
    assert 'data-field="final-balance">$0.00' in page

    again = admin_client.post(
        "/admin/donations/caseclosure/add/",
        {
            "campaign": campaign.pk,
            "recovered": "35.98",
            "expected_surplus": "80.00",
            "confirm": "yes",
        },
    )
    assert again.status_code == 400  # the campaign is no longer offered: closed once


@pytest.mark.django_db
def test_a_stale_preview_is_refused(campaign):
    confirmed_donation(campaign, "100.00")
    with pytest.raises(surplus.ClosureError, match="changed since the preview"):
        surplus.case_close(campaign=campaign, recovered=cad(0), expected_surplus=cad("50.00"))
    assert CaseClosure.objects.count() == 0


@pytest.mark.django_db
def test_failed_refund_is_reported_and_others_go_on(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    for amount in ("50", "50"):
        _, session_id = start_checkout(client, campaign, amount=amount)
        deliver(client, completed_event(stripe_fake, session_id), on_commit)
    stripe_fake.fail_next(400, "invalid_request_error")
    preview = surplus.surplus_preview(campaign=campaign, recovered=cad(0))
    assert preview.surplus == cad("96.50")  # $100 less Stripe's fees (2 × $1.75)

    with on_commit(execute=True):
        closure = surplus.case_close(
            campaign=campaign, recovered=cad(0), expected_surplus=preview.surplus
        )

    outcomes = sorted(s.outcome for s in SurplusShare.objects.filter(closure=closure))
    assert outcomes == ["failed", "submitted"]
    failed = next(s for s in SurplusShare.objects.all() if s.outcome == "failed")
    assert failed.refund is not None and "Simulated failure." in failed.refund.error
    assert surplus.closure_outcomes(closure_id=closure.pk) == {"failed": 1, "submitted": 1}


@pytest.mark.django_db
def test_cause_rule_gives_the_surplus_to_the_named_cause(client, campaign):
    campaign.surplus_rule, campaign.surplus_cause = "cause", "the Canadian Internet Policy Clinic"
    campaign.save()
    confirmed_donation(campaign, "100.00")
    spend(campaign, "60.00")

    closure = surplus.case_close(campaign=campaign, recovered=cad(0), expected_surplus=cad("40.00"))

    assert closure.given == cad("40.00")
    assert closure.refunded == cad("0.00")
    assert closure.balance == cad("0.00")
    assert SurplusShare.objects.count() == 0
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "Given to the Canadian Internet Policy Clinic" in page


@pytest.mark.django_db
def test_no_surplus_when_costs_exceed_the_money(campaign):
    confirmed_donation(campaign, "100.00")
    spend(campaign, "300.00")

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad(0))

    assert preview.surplus == cad("0.00")
    assert preview.lines == []


@pytest.mark.django_db
def test_refunded_part_of_a_gift_is_not_refunded_again(campaign):
    gift = confirmed_donation(campaign, "100.00")
    services.refund_record(
        donation_ref=str(gift.public_id),
        payment_intent_id=gift.payment_intent_id,
        charge_id="ch_1",
        amount_refunded=cad("90.00"),
    )
    # $10 kept; a $1,000 surplus from recovered costs can refund at most that $10.
    preview = surplus.surplus_preview(campaign=campaign, recovered=cad("1000"))

    assert preview.surplus == cad("1010.00")
    assert [line.amount for line in preview.lines] == [cad("10.00")]
    assert preview.to_cause == cad("1000.00")
    assert preview.refunded + preview.to_cause == preview.surplus
    assert Decimal(preview.refunded.amount) == Decimal("10.00")


@pytest.mark.django_db
def test_surplus_rule_is_locked_in_admin_after_the_first_donation(admin_client, campaign):
    url = f"/admin/campaign/campaign/{campaign.pk}/change/"
    before = admin_client.get(url).content.decode()
    assert 'name="surplus_rule"' in before

    confirmed_donation(campaign, "10.00")

    after = admin_client.get(url).content.decode()
    assert 'name="surplus_rule"' not in after
    assert 'name="surplus_minimum_0"' not in after


@pytest.mark.django_db
def test_the_rule_is_stated_on_the_page(client, campaign):
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "it is refunded to donors in proportion to their gifts; shares under $5" in page


@pytest.mark.django_db
def test_a_refund_on_its_way_is_not_given_again(campaign):
    gift = confirmed_donation(campaign, "100.00")
    services.refund_request(donation=gift, amount=cad("90.00"), reason="Asked by the donor")

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad("1000"))

    # The $90 is not confirmed yet (still counted as raised), but only $10 can still go back.
    assert [line.amount for line in preview.lines] == [cad("10.00")]
    assert preview.refunded + preview.to_cause == preview.surplus


def test_a_refund_on_its_way_is_not_surplus_either(campaign):
    # Two $100 gifts; a full refund of the first is asked but not yet confirmed by Stripe.
    first = confirmed_donation(campaign, "100.00", channel="demo")
    second = confirmed_donation(campaign, "100.00", channel="demo")
    campaign.surplus_cause = "Legal aid clinic"
    campaign.save()
    services.refund_request(donation=first, amount=cad("100.00"), reason="Asked by the donor")

    preview = surplus.surplus_preview(campaign=campaign, recovered=cad("0"))

    # Only the second gift's $100 is still there: the $100 on its way is neither shared out again
    # nor counted in the surplus, so what leaves never exceeds what came in.
    assert preview.raised == cad("100.00")
    assert preview.surplus == cad("100.00")
    assert [(line.donation, line.amount) for line in preview.lines] == [(second, cad("100.00"))]
    assert preview.to_cause == cad("0.00")
    leaving = Decimal("100.00") + preview.refunded.amount + preview.to_cause.amount
    assert leaving == Decimal("200.00")


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "99999999999999999999999", "١"])
def test_closing_with_a_tampered_campaign_id_is_a_clear_error(admin_client, campaign, value):
    admin_client.raise_request_exception = False

    response = admin_client.post(
        "/admin/donations/caseclosure/add/", {"campaign": value, "recovered": "0"}
    )

    assert response.status_code == 400
    assert "Choose a campaign that is not closed yet." in response.content.decode()
    assert not CaseClosure.objects.exists()
