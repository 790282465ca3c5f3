"""A pledge shows its amount on the list of supporters only when the pledger asked for it, with the
same choice the donation form offers; left alone, the amount stays private."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from donations.models import Pledge, PledgeState
from tests.donations.test_pledges import activate
from tests.support.factories import StageFactory

pytestmark = pytest.mark.django_db


def pledge_and_charge(client, stage, on_commit, **fields: str) -> Pledge:
    """Pledge through the form (demo gateway), save the card, start the stage: the gift counts."""
    data = {"amount": "25", "email": "luc@example.ca", "display_name": "Luc Pledger", **fields}
    response = client.post(f"/campaigns/{stage.campaign.slug}/stages/{stage.pk}/pledge/", data)
    assert response.status_code == 303, response.content.decode()[-2000:]
    with on_commit(execute=True):
        client.post(response["Location"], {"action": "save"})
    activate(stage, on_commit)
    pledge = Pledge.objects.get(email="luc@example.ca")
    assert pledge.state == PledgeState.CHARGED
    return pledge


def wall(client, campaign) -> str:
    return client.get(f"/campaigns/{campaign.slug}/supporters/").content.decode()


def test_the_pledge_form_asks_whether_to_show_the_amount_unticked(client, campaign):
    stage = StageFactory.create(campaign=campaign)
    page = client.get(f"/campaigns/{campaign.slug}/stages/{stage.pk}/pledge/").content.decode()

    assert "Show my amount publicly" in page
    checkbox = next(
        line for line in page.splitlines() if 'name="show_amount"' in line and "<input" in line
    )
    assert 'type="checkbox"' in checkbox and "checked" not in checkbox


def test_a_pledge_left_alone_never_publishes_its_amount(
    client, campaign, django_capture_on_commit_callbacks
):
    stage = StageFactory.create(campaign=campaign)

    pledge = pledge_and_charge(client, stage, django_capture_on_commit_callbacks)

    assert pledge.show_amount is False
    assert pledge.donation is not None and pledge.donation.show_amount is False
    page = wall(client, campaign)
    assert "Luc Pledger" in page and "$25.00" not in page


def test_a_pledger_who_asks_has_the_amount_shown(
    client, campaign, django_capture_on_commit_callbacks
):
    stage = StageFactory.create(campaign=campaign)

    pledge = pledge_and_charge(client, stage, django_capture_on_commit_callbacks, show_amount="on")

    assert pledge.show_amount is True
    assert pledge.donation is not None and pledge.donation.show_amount is True
    assert "Luc Pledger</strong> — $25.00" in wall(client, campaign)


def test_donations_keep_showing_the_amount_by_default(client, campaign):
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    checkbox = next(
        line for line in page.splitlines() if 'name="show_amount"' in line and "<input" in line
    )
    assert "checked" in checkbox


@pytest.mark.django_db(transaction=True)
def test_the_migration_hides_the_amounts_of_gifts_that_came_from_pledges():
    before = [("donations", "0007_stripeevent_traceback")]
    after = [("donations", "0008_pledge_show_amount_off")]
    stage = StageFactory.create()  # the campaign app's tables do not change here
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        campaign = old.get_model("campaign", "Campaign").objects.get(pk=stage.campaign_id)
        stage = old.get_model("campaign", "Stage").objects.get(pk=stage.pk)
        Donation = old.get_model("donations", "Donation")
        pledged = Donation.objects.create(campaign=campaign, amount=Decimal("50"), show_amount=True)
        given = Donation.objects.create(campaign=campaign, amount=Decimal("20"), show_amount=True)
        old.get_model("donations", "Pledge").objects.create(
            stage=stage, amount=Decimal("50"), email="p@example.org", donation=pledged
        )

        executor = MigrationExecutor(connection)
        executor.migrate(after)

        new = executor.loader.project_state(after).apps.get_model("donations", "Donation")
        assert new.objects.get(pk=pledged.pk).show_amount is False
        assert new.objects.get(pk=given.pk).show_amount is True
    finally:  # leave the schema as the other tests expect it
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
