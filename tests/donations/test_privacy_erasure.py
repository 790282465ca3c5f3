"""Erasing a donor's data reaches every row with their address, required fields included: the
update subscription ends, a pledge keeps its amount but loses the address and name."""

from __future__ import annotations

import pytest

from campaign.models import Stage, StageState, Subscriber
from core.money import cad
from donations.models import Pledge
from donations.services import privacy
from tests.support.factories import confirmed_donation

pytestmark = pytest.mark.django_db


def test_erasure_removes_the_address_from_subscriptions_and_pledges(campaign):
    confirmed_donation(campaign, "10.00", email="gone@example.org")
    Subscriber.objects.create(campaign=campaign, email="Gone@example.org", state="confirmed")
    Subscriber.objects.create(campaign=campaign, email="stays@example.org", state="confirmed")
    stage = Stage.objects.create(
        campaign=campaign, title="Trial", flat_amount=cad("1000"), state=StageState.POSSIBLE
    )
    pledge = Pledge.objects.create(
        stage=stage, amount=cad("50"), email="gone@example.org", display_name="Gone Person"
    )

    result = privacy.donor_data_erase(email="gone@example.org")

    assert result == {"donations": 1, "stripe_events": 0, "other_records": 2}
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["stays@example.org"]
    pledge.refresh_from_db()
    assert (pledge.email, pledge.display_name, pledge.amount) == ("", "", cad("50.00"))
    assert privacy.donor_data_export(email="gone@example.org")["other_records"] == []
