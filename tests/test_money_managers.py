"""Every model with a money field keeps django-money's query support on its default manager."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db.models import F

from core.money import MoneyManager, cad
from donations.models import CampaignTotals, Donation
from tests.support.factories import confirmed_donation


def test_every_money_model_uses_a_money_manager():
    money_models = [m for m in apps.get_models() if hasattr(m._meta, "has_money_field")]

    plain = [m.__name__ for m in money_models if not isinstance(m._default_manager, MoneyManager)]

    assert money_models
    assert plain == [], f"declare `objects = MoneyManager()` on {plain}"


@pytest.mark.django_db
def test_money_in_filters_and_f_updates(campaign):
    confirmed_donation(campaign, "25.00")

    CampaignTotals.objects.filter(campaign=campaign).update(gross=F("gross") + cad("1.00"))

    assert CampaignTotals.objects.get(campaign=campaign).gross == cad("26.00")
    assert Donation.objects.filter(**{"amount__gt": cad("20.00")}).count() == 1  # Money in a lookup
