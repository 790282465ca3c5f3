from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from campaign.models import Campaign, Update
from core.money import cad
from donations.models import Channel, Donation, DonationState


class UserFactory(factory.django.DjangoModelFactory[Any]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign

    title = "Legal Defense Fund"
    slug = factory.Sequence(lambda n: f"fund-{n}")
    story = "We are **fighting** a cease-and-desist."
    legal_cost = cad(Decimal("2000.00"))
    community_goal = cad(Decimal("1500.00"))
    hourly_rate = cad(Decimal("250.00"))
    is_active = True


class UpdateFactory(factory.django.DjangoModelFactory[Update]):
    class Meta:
        model = Update

    campaign = factory.SubFactory(CampaignFactory)
    title = factory.Sequence(lambda n: f"Update {n}")
    slug = factory.Sequence(lambda n: f"update-{n}")
    body = "The lawyer sent our answer."
    is_published = True
    published_at = factory.LazyFunction(timezone.now)


class DonationFactory(factory.django.DjangoModelFactory[Donation]):
    """A pending donation; use the services (or `confirmed_donation`) to make it count."""

    class Meta:
        model = Donation

    campaign = factory.SubFactory(CampaignFactory)
    amount = cad(Decimal("25.00"))
    display_name = factory.Faker("first_name")
    email = factory.Sequence(lambda n: f"donor{n}@example.org")
    channel = Channel.STRIPE
    state = DonationState.PENDING
