"""The totals dashboard: every number against values computed by hand, plus the chart's points."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from core.money import cad
from donations import selectors, services
from donations.models import AmountTally, Channel, DailyRollup
from tests.support.money_flows import charge_of, paid_gift
from tests.support.payments import completed_event, deliver, start_checkout

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 15) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)  # 10:00 in Toronto


def field(html: str, name: str) -> str:
    match = re.search(rf'data-field="{name}">([^<]*)<', html)
    assert match, name
    return match.group(1)


@pytest.fixture
def busy_campaign(admin_client, campaign, stripe_fake, django_capture_on_commit_callbacks):
    """Nov 20: $25 (a), $100 (b) online, a $200 cheque (c). Nov 22: $50 (a again) online,
    $40 cash (no email), $30 of the $100 refunded. Nov 23: the $50 is disputed."""
    client = Client()
    capture = django_capture_on_commit_callbacks
    with time_machine.travel(at(20)):
        paid_gift(client, campaign, stripe_fake, capture, "25", "a@example.ca")
        hundred = paid_gift(client, campaign, stripe_fake, capture, "100", "b@example.ca")
        with capture(execute=True):
            response = admin_client.post(
                "/admin/donations/offlinegift/add/",
                {
                    "campaign": campaign.pk, "received_on": "2026-11-20", "gift_amount": "200",
                    "channel": "cheque", "reference": "Cheque #104", "display_name": "Chantal",
                    "email": "c@example.ca", "show_amount": "on",
                },
            )  # fmt: skip
        assert response.status_code == 302, response.content.decode()[-2000:]
    with time_machine.travel(at(22)):
        fifty = paid_gift(client, campaign, stripe_fake, capture, "50", "A@Example.ca ")
        services.offline_gift_record(
            campaign=campaign,
            amount=cad("40"),
            channel=Channel.CASH,
            received_on=date(2026, 11, 22),
        )
        charge = stripe_fake.refund(charge_of(stripe_fake, hundred)["id"], 3000)
        deliver(client, stripe_fake.event("charge.refunded", charge), capture)
    with time_machine.travel(at(23)):
        dispute = stripe_fake.dispute_open(charge_of(stripe_fake, fifty)["id"])
        deliver(client, stripe_fake.event("charge.dispute.created", dispute), capture)
    return campaign


def test_every_number_on_the_dashboard(admin_client, busy_campaign):
    d = selectors.campaign_dashboard(campaign=busy_campaign)
    t = d.totals

    assert t.gross == cad("415.00")  # 25 + 100 + 200 + 50 + 40
    assert t.refunded == cad("30.00")
    assert t.disputed == cad("50.00")
    # Stripe's 2.9 % + 30¢: 1.03 + 3.20 + 1.75, none offline; and the $15 dispute fee.
    assert t.fees == cad("20.98")
    assert t.raised == cad("335.00")  # 415 − 30 − 50
    assert t.net == cad("314.02")  # 335 − 20.98
    assert (t.donor_count, t.donation_count) == (4, 5)  # a twice, b, c, and the cash gift
    assert d.online == cad("175.00") and d.offline == cad("240.00")
    assert d.average_gift == cad("77.00")  # (415 − 30) / 5
    assert d.median_gift == cad("50.00")  # kept: 25, 40, 50, 70, 200
    assert t.hours_funded == Decimal("1.34")  # 335 / 250
    assert t.remaining == cad("1165.00")
    assert t.percent == Decimal("22.3")

    html = admin_client.get(f"/admin/donations/donation/dashboard/{busy_campaign.pk}/").content
    page = html.decode()
    expected = {
        "gross": "$415.00", "refunded": "$30.00", "disputed": "$50.00", "fees": "$20.98",
        "net": "$314.02", "raised": "$335.00", "online": "$175.00", "offline": "$240.00",
        "donors": "4", "donations": "5", "average": "$77.00", "median": "$50.00",
        "remaining": "$1,165.00", "hours": "1 hour and 20 minutes",
    }  # fmt: skip
    assert {name: field(page, name) for name in expected} == expected


def test_the_chart_points_are_the_daily_rollup(admin_client, busy_campaign):
    points = selectors.chart_points(campaign=busy_campaign)

    assert [(p.day, p.raised, p.cumulative) for p in points] == [
        (date(2026, 11, 20), cad("325.00"), cad("325.00")),
        (date(2026, 11, 21), cad("0.00"), cad("325.00")),  # a quiet day is drawn too
        (date(2026, 11, 22), cad("60.00"), cad("385.00")),  # 50 + 40 − 30 refunded
        (date(2026, 11, 23), cad("-50.00"), cad("335.00")),  # the disputed $50 is held
    ]
    page = admin_client.get(f"/admin/donations/donation/dashboard/{busy_campaign.pk}/")
    found = re.search(r"<svg xmlns.*?</svg>", page.content.decode(), re.S)
    assert found is not None
    svg = found.group(0)
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count('class="day"') == 3  # a hatched bar for each day that moved
    assert svg.count("<circle") == 4 + 1  # a dot per day, and one in the legend
    assert "Community goal: $1,500.00" in svg and 'stroke-dasharray="8 5"' in svg
    assert 'fill="url(#hatch)"' in svg  # the pattern, not colour, tells bars apart
    assert "<td>2026-11-22</td><td>$60.00</td><td>$385.00</td>" in page.content.decode()


def test_rollup_and_tally_cost_one_row_per_day_and_amount(busy_campaign):
    assert DailyRollup.objects.filter(campaign=busy_campaign).count() == 3
    tally = dict(
        AmountTally.objects.filter(campaign=busy_campaign, count__gt=0).values_list(
            "amount", "count"
        )
    )
    assert tally == {
        Decimal("25.00"): 1, Decimal("40.00"): 1, Decimal("50.00"): 1, Decimal("70.00"): 1,
        Decimal("200.00"): 1,
    }  # fmt: skip


def test_median_of_an_even_count_rounds_half_up():
    pairs = [
        (Decimal("10.00"), 1),
        (Decimal("25.00"), 1),
        (Decimal("25.01"), 1),
        (Decimal("99"), 1),
    ]
    assert selectors.median_from_tally(pairs) == Decimal("25.01")  # (25 + 25.01) / 2 = 25.005
    assert selectors.median_from_tally([(Decimal("5"), 2), (Decimal("9"), 0)]) == Decimal("5.00")
    assert selectors.median_from_tally([]) is None


def test_a_full_refund_leaves_the_median_and_average(
    campaign, stripe_fake, django_capture_on_commit_callbacks
):
    client = Client()
    capture = django_capture_on_commit_callbacks
    paid_gift(client, campaign, stripe_fake, capture, "10", "x@example.ca")
    gone = paid_gift(client, campaign, stripe_fake, capture, "500", "y@example.ca")
    paid_gift(client, campaign, stripe_fake, capture, "30", "z@example.ca")
    charge = stripe_fake.refund(charge_of(stripe_fake, gone)["id"])
    deliver(client, stripe_fake.event("charge.refunded", charge), capture)

    d = selectors.campaign_dashboard(campaign=campaign)

    assert d.totals.donation_count == 2
    assert d.median_gift == cad("20.00")  # 10 and 30
    assert d.average_gift == cad("20.00")  # (540 − 500) / 2


def test_an_empty_campaign_shows_dashes(admin_client, campaign):
    page = admin_client.get(f"/admin/donations/donation/dashboard/{campaign.pk}/").content.decode()
    assert field(page, "median") == "—" and field(page, "gross") == "$0.00"
    assert "No gift has counted yet." in page


def test_dashboard_is_for_staff_only(client, outsider, campaign):
    assert client.get(f"/admin/donations/donation/dashboard/{campaign.pk}/").status_code == 302
    client.force_login(outsider)
    response = client.get(f"/admin/donations/donation/dashboard/{campaign.pk}/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_stripe_fee_comes_from_the_balance_transaction_once(
    campaign, stripe_fake, django_capture_on_commit_callbacks
):
    client = Client()
    capture = django_capture_on_commit_callbacks
    gift = paid_gift(client, campaign, stripe_fake, capture, "25", "f@example.ca")

    assert gift.fee == cad("1.03")  # 2.9 % of $25 = 0.725 → 0.73, plus 30¢
    assert gift.charge_id == charge_of(stripe_fake, gift)["id"]
    [call] = stripe_fake.requests_to("GET", f"/v1/payment_intents/{gift.payment_intent_id}")
    assert call["params"]["expand"] == ["latest_charge.balance_transaction"]

    services.donation_fee_record(donation_id=gift.pk)  # asked again: nothing changes
    assert selectors.campaign_totals(campaign=campaign).fees == cad("1.03")
    assert len(stripe_fake.requests_to("GET", f"/v1/payment_intents/{gift.payment_intent_id}")) == 1


def test_no_balance_transaction_yet_leaves_the_fee_unknown(
    campaign, stripe_fake, django_capture_on_commit_callbacks
):
    client = Client()
    donation, session_id = start_checkout(client, campaign, amount="40", email="g@example.ca")
    event = completed_event(stripe_fake, session_id)
    charge = charge_of(stripe_fake, donation)
    stripe_fake.balance_transactions.pop(charge["balance_transaction"])

    deliver(client, event, django_capture_on_commit_callbacks)

    t = selectors.campaign_totals(campaign=campaign)
    assert (t.gross, t.fees, t.net) == (cad("40.00"), cad("0.00"), cad("40.00"))


def test_rebuilding_the_rollups_gives_the_same_numbers(busy_campaign):
    before = selectors.campaign_dashboard(campaign=busy_campaign)
    out = io.StringIO()

    call_command("rebuild_rollups", stdout=out)

    assert f"{busy_campaign.slug}: 5 counted gifts" in out.getvalue()
    after = selectors.campaign_dashboard(campaign=busy_campaign)
    assert (after.median_gift, after.average_gift) == (before.median_gift, before.average_gift)
    # Without the dates of refunds and disputes, they land on the gift's own day.
    points = selectors.chart_points(campaign=busy_campaign)
    assert [(p.day.day, p.cumulative) for p in points] == [
        (20, cad("295.00")), (21, cad("295.00")), (22, cad("335.00")),
    ]  # fmt: skip
