"""The legal-cost ledger: the goal follows it with a dated history; the public sees the summary."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from campaign import selectors, services
from campaign.models import Campaign, GoalChange, LegalCost
from core.money import cad
from tests.support.factories import CampaignFactory, confirmed_donation

pytestmark = pytest.mark.django_db


def ledger_form(campaign, **fields):
    data = {
        "campaign": campaign.pk,
        "date": "2026-11-20",
        "kind": "invoice",
        "description": "Answer to the letters",
        "hours": "",
        "rate_0": "",
        "rate_1": "CAD",
        "flat_amount_0": "",
        "flat_amount_1": "CAD",
        "paid_on": "",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not False}


def add(admin_client, campaign, **fields):
    response = admin_client.post("/admin/campaign/legalcost/add/", ledger_form(campaign, **fields))
    assert response.status_code == 302, response.content.decode()[-3000:]
    return LegalCost.objects.order_by("-pk").first()


def legal_cost(campaign) -> object:
    return Campaign.objects.get(pk=campaign.pk).legal_cost


def test_the_goal_follows_the_ledger_with_a_dated_history(admin_client, campaign):
    with time_machine.travel(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), tick=False):
        retainer = add(
            admin_client, campaign, kind="retainer", description="Retainer", hours="8",
            is_paid="on",
        )  # fmt: skip
    assert retainer.amount == cad("2000.00")  # 8 h × the campaign's $250
    assert retainer.rate == cad("250.00") and retainer.paid_on == date(2026, 11, 20)
    assert legal_cost(campaign) == cad("2000.00")  # the same as typed: no change recorded
    assert GoalChange.objects.count() == 0

    with time_machine.travel(datetime(2026, 12, 2, 15, 0, tzinfo=UTC), tick=False):
        add(admin_client, campaign, description="Court filing", hours="3.5")
    assert legal_cost(campaign) == cad("2875.00")  # 2,000 + 3.5 × 250

    with time_machine.travel(datetime(2026, 12, 5, 15, 0, tzinfo=UTC), tick=False):
        add(
            admin_client,
            campaign,
            kind="disbursement",
            description="Court fee",
            flat_amount_0="150",
        )
    assert legal_cost(campaign) == cad("3025.00")

    history = list(GoalChange.objects.order_by("changed_at"))
    assert [(h.old_legal_cost, h.new_legal_cost) for h in history] == [
        (cad("2000.00"), cad("2875.00")),
        (cad("2875.00"), cad("3025.00")),
    ]
    assert history[0].changed_at == datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    assert history[1].reason == "Recorded: Court fee ($150.00)"


def test_correcting_and_deleting_a_line_moves_the_goal_back(admin_client, campaign):
    add(admin_client, campaign, description="Retainer", hours="8")
    invoice = add(admin_client, campaign, description="Hearing prep", hours="4")
    assert legal_cost(campaign) == cad("3000.00")

    response = admin_client.post(
        f"/admin/campaign/legalcost/{invoice.pk}/change/",
        ledger_form(campaign, description="Hearing prep", hours="2"),
    )
    assert response.status_code == 302
    assert legal_cost(campaign) == cad("2500.00")

    response = admin_client.post(f"/admin/campaign/legalcost/{invoice.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert legal_cost(campaign) == cad("2000.00")
    assert [c.new_legal_cost for c in GoalChange.objects.order_by("pk")] == [
        cad("3000.00"), cad("2500.00"), cad("2000.00"),
    ]  # fmt: skip


def test_hours_times_rate_rounds_half_up_to_the_cent(campaign):
    entry = services.legal_cost_save(
        entry=LegalCost(
            campaign=campaign,
            description="Junior time",
            hours=Decimal("1.25"),
            rate=cad("237.50"),
        )  # fmt: skip
    )
    assert entry.amount == cad("296.88")  # 296.875 → 296.88


def test_a_line_needs_hours_or_an_amount(admin_client, campaign):
    response = admin_client.post("/admin/campaign/legalcost/add/", ledger_form(campaign))
    assert response.status_code == 200
    assert "Enter the hours billed, or a flat amount." in response.content.decode()
    both = admin_client.post(
        "/admin/campaign/legalcost/add/", ledger_form(campaign, hours="1", flat_amount_0="10")
    )
    assert "Enter hours or a flat amount, not both." in both.content.decode()
    assert LegalCost.objects.count() == 0


def test_legal_cost_is_read_only_in_admin_once_the_ledger_has_a_line(admin_client, campaign):
    page = admin_client.get(f"/admin/campaign/campaign/{campaign.pk}/change/").content.decode()
    assert 'name="legal_cost_0"' in page
    services.legal_cost_save(entry=LegalCost(campaign=campaign, description="R", hours=Decimal(8)))
    page = admin_client.get(f"/admin/campaign/campaign/{campaign.pk}/change/").content.decode()
    assert 'name="legal_cost_0"' not in page


def test_public_section_shows_fees_paid_raised_and_hours_and_hides_private_details(
    client, campaign
):
    services.legal_cost_save(
        entry=LegalCost(
            campaign=campaign,
            date=date(2026, 11, 20),
            kind="retainer",
            description="Retainer for the answer",
            hours=Decimal("8"),
            is_paid=True,
        )  # fmt: skip
    )
    services.legal_cost_save(
        entry=LegalCost(
            campaign=campaign,
            date=date(2026, 12, 1),
            description="Strategy memo (privileged)",
            hours=Decimal("3.5"),
            is_private=True,
        )  # fmt: skip
    )
    confirmed_donation(campaign, "500.00")

    summary = selectors.ledger_summary(campaign=campaign)
    assert summary.fees_confirmed == cad("2875.00")
    assert summary.fees_paid == cad("2000.00")
    assert summary.fees_unpaid == cad("875.00")
    assert summary.hours_billed == Decimal("11.5")

    html = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "<dt>Legal fees confirmed</dt><dd>$2,875.00</dd>" in html
    assert "<dt>Fees paid to the lawyer</dt><dd>$2,000.00</dd>" in html
    assert "<dt>Money raised</dt><dd>$500.00</dd>" in html
    assert "2 hours of 11.5 hours billed" in html
    assert "Retainer for the answer" in html and "8 h × $250.00" in html
    assert "Strategy memo" not in html and "3.5 h" not in html
    assert "Details kept private" in html and "$875.00" in html
    assert "from $2,000.00 to $2,875.00" in html


def test_deleting_the_only_line_restores_the_typed_figure(campaign):
    campaign.legal_cost = cad("2000")
    campaign.save()
    typo = services.legal_cost_save(
        entry=LegalCost(campaign=campaign, description="typo", flat_amount=cad("20000"))
    )
    assert legal_cost(campaign) == cad("20000.00")

    services.legal_cost_delete(entry=typo)

    assert legal_cost(campaign) == cad("2000.00")
    history = [(c.old_legal_cost, c.new_legal_cost) for c in GoalChange.objects.order_by("pk")]
    assert history == [(cad("2000"), cad("20000")), (cad("20000"), cad("2000"))]

    # Typed again, then a new ledger: emptying it goes back to the new typed figure.
    campaign.legal_cost = cad("2500")
    campaign.save()
    line = services.legal_cost_save(
        entry=LegalCost(campaign=campaign, description="retainer", flat_amount=cad("2500"))
    )
    services.legal_cost_save(
        entry=LegalCost(campaign=campaign, description="filing", flat_amount=cad("100"))
    )
    services.legal_cost_delete(entry=line)
    assert legal_cost(campaign) == cad("100.00")
    services.legal_cost_delete(entry=LegalCost.objects.get(description="filing"))
    assert legal_cost(campaign) == cad("2500.00")


def test_deleting_lines_one_by_one_ends_at_the_typed_figure(admin_client, campaign):
    add(admin_client, campaign, description="Retainer", hours="8")  # $2,000: the typed figure too
    extra = add(admin_client, campaign, description="Appeal", flat_amount_0="900")
    first = LegalCost.objects.get(description="Retainer")
    admin_client.post(f"/admin/campaign/legalcost/{first.pk}/delete/", {"post": "yes"})
    assert legal_cost(campaign) == cad("900.00")

    admin_client.post(f"/admin/campaign/legalcost/{extra.pk}/delete/", {"post": "yes"})

    assert legal_cost(campaign) == cad("2000.00")
    # The public history leaves out the marker that changed nothing.
    public = selectors.ledger_summary(campaign=campaign).history
    assert [c.new_legal_cost for c in public] == [cad("2900"), cad("900"), cad("2000")]


def test_moving_a_line_to_another_campaign_updates_both(campaign):
    other = CampaignFactory.create(legal_cost=cad("300"))
    kept = LegalCost(campaign=campaign, description="a", flat_amount=cad("500"))
    services.legal_cost_save(entry=kept)
    moved = LegalCost(campaign=campaign, description="b", flat_amount=cad("700"))
    services.legal_cost_save(entry=moved)
    assert legal_cost(campaign) == cad("1200.00")

    moved.campaign = other
    services.legal_cost_save(entry=moved)

    assert legal_cost(campaign) == cad("500.00")
    assert legal_cost(other) == cad("700.00")
    services.legal_cost_delete(entry=moved)
    assert legal_cost(other) == cad("300.00")  # back to its own typed figure
