"""The organizer's dashboard for monthly gifts: active, new, cancelled, failed renewals and the
monthly amount over time, through Stripe's events on the strict fake."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from core.money import cad
from donations import selectors, services
from tests.donations.test_dashboard import field
from tests.support.monthly import start_monthly, subscribed
from tests.support.payments import deliver

pytestmark = pytest.mark.django_db


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 15, tzinfo=UTC)


def test_monthly_figures_over_time(
    admin_client, client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    def run(event):
        deliver(client, event, django_capture_on_commit_callbacks)

    gifts = []
    for day, email, amount in ((2, "a@example.org", "20"), (5, "b@example.org", "15")):
        with time_machine.travel(at(day)):
            gift, session_id = start_monthly(client, campaign, amount=amount, email=email)
            run(subscribed(stripe_fake, session_id))
            gift.refresh_from_db()
            gifts.append(gift)
    with time_machine.travel(at(9)):
        run(
            stripe_fake.event(
                "invoice.payment_failed", stripe_fake.fail_renewal(gifts[1].subscription_id)
            )
        )
    with time_machine.travel(at(10)):
        with django_capture_on_commit_callbacks(execute=True):
            services.monthly_cancel(gift_id=gifts[0].pk)

    with time_machine.travel(at(12)):
        d = selectors.monthly_dashboard(campaign=campaign, days=12)
        page = admin_client.get(f"/admin/donations/donation/dashboard/{campaign.pk}/")

    assert (d.active, d.ending, d.new, d.cancelled, d.failed) == (0, 1, 2, 1, 1)
    by_day = {p.day.day: p for p in d.days}
    assert [by_day[n].monthly_amount for n in (1, 2, 4, 5, 9, 10, 12)] == [
        cad(0),
        cad(20),
        cad(20),
        cad(35),
        cad(35),
        cad(15),
        cad(15),
    ]
    assert (by_day[2].new, by_day[5].new, by_day[9].failed, by_day[10].cancelled) == (1, 1, 1, 1)
    # The second gift is past due (its renewal failed): it is not counted as active, nor its pace.
    html = page.content.decode()
    assert {n: field(html, n) for n in ("monthly_active", "monthly_ending", "monthly_failed")} == {
        "monthly_active": "0",
        "monthly_ending": "1",
        "monthly_failed": "1",
    }
