"""Monthly gifts. `MonthlyGiftFactory` builds a row only (no money counts: only paid invoices do,
through `services.monthly_events`); `active=True` gives it a started subscription's ids."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from core.money import cad
from donations.models import MonthlyGift, MonthlyRenewalFailure, MonthlyStatus
from tests.support.factories.campaign import CampaignFactory


class MonthlyGiftFactory(factory.django.DjangoModelFactory[MonthlyGift]):
    class Meta:
        model = MonthlyGift

    campaign = factory.SubFactory(CampaignFactory)
    amount = cad(Decimal("20.00"))
    email = factory.Sequence(lambda n: f"monthly{n}@example.org")
    display_name = factory.Faker("first_name")
    status = MonthlyStatus.PENDING

    class Params:
        active = factory.Trait(
            status=MonthlyStatus.ACTIVE,
            subscription_id=factory.Sequence(lambda n: f"sub_factory_{n:06d}"),
            customer_id=factory.Sequence(lambda n: f"cus_factory_{n:06d}"),
            started_at=factory.LazyFunction(timezone.now),
        )


class MonthlyRenewalFailureFactory(factory.django.DjangoModelFactory[MonthlyRenewalFailure]):
    class Meta:
        model = MonthlyRenewalFailure

    gift = factory.SubFactory(MonthlyGiftFactory, active=True)
    invoice_id = factory.Sequence(lambda n: f"in_factory_{n:06d}")
