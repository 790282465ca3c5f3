"""Factories for `campaign.models`: rows as the admin or a service would have saved them; where a
service derives fields (a ledger line's amount, the campaign's legal cost), the factory calls it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from campaign import services as campaign_services
from campaign.models import (
    Campaign,
    DeliveryStatus,
    GoalChange,
    LegalCost,
    LegalCostKind,
    Stage,
    StageState,
    Subscriber,
    SubscriberState,
    Update,
    UpdateDelivery,
)
from core.money import cad


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    title = "Legal Defense Fund"
    slug = factory.Sequence(lambda n: f"fund-{n}")
    story = "We are **fighting** a cease-and-desist."
    legal_cost = cad(Decimal("2000.00"))
    community_goal = cad(Decimal("1500.00"))
    hourly_rate = cad(Decimal("250.00"))
    is_active = True

    class Params:
        inactive = factory.Trait(is_active=False)
        french = factory.Trait(
            title_fr="Fonds de défense juridique",
            summary_fr="Aidez-nous à répondre.",
            story_fr="Nous **contestons** une mise en demeure.",
        )
        to_a_cause = factory.Trait(surplus_rule="cause", surplus_cause="Legal aid clinic")


class UpdateFactory(factory.django.DjangoModelFactory[Update]):
    """A published update, visible now; `draft=True` or `scheduled=True` hide it.

    A row only: nobody is emailed. `campaign.services.update_save` starts the fan-out."""

    class Meta:
        model = Update
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    title = factory.Sequence(lambda n: f"Update {n}")
    slug = factory.Sequence(lambda n: f"update-{n}")
    body = "The lawyer sent our answer."
    is_published = True
    published_at = factory.LazyFunction(timezone.now)

    class Params:
        draft = factory.Trait(is_published=False)
        scheduled = factory.Trait(
            published_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
        )


class SubscriberFactory(factory.django.DjangoModelFactory[Subscriber]):
    """Waiting for confirmation; `confirmed=True` receives updates, `unsubscribed=True` left."""

    class Meta:
        model = Subscriber
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    email = factory.Sequence(lambda n: f"reader{n}@example.org")
    language = "en"
    state = SubscriberState.PENDING

    class Params:
        confirmed = factory.Trait(
            state=SubscriberState.CONFIRMED, confirmed_at=factory.LazyFunction(timezone.now)
        )
        unsubscribed = factory.Trait(
            state=SubscriberState.UNSUBSCRIBED,
            confirmed_at=factory.LazyFunction(timezone.now),
            unsubscribed_at=factory.LazyFunction(timezone.now),
        )


class UpdateDeliveryFactory(factory.django.DjangoModelFactory[UpdateDelivery]):
    """One update to one confirmed subscriber of the same campaign, not sent yet."""

    class Meta:
        model = UpdateDelivery
        skip_postgeneration_save = True

    update = factory.SubFactory(UpdateFactory)
    subscriber = factory.SubFactory(
        SubscriberFactory, campaign=factory.SelfAttribute("..update.campaign"), confirmed=True
    )
    status = DeliveryStatus.PENDING

    class Params:
        sent = factory.Trait(
            status=DeliveryStatus.SENT,
            claimed_at=factory.LazyFunction(timezone.now),
            sent_at=factory.LazyFunction(timezone.now),
        )
        failed = factory.Trait(
            status=DeliveryStatus.FAILED,
            claimed_at=factory.LazyFunction(timezone.now),
            error="550 5.1.1 No such user",
        )


class LegalCostFactory(factory.django.DjangoModelFactory[LegalCost]):
    """A ledger line of 4 hours at the campaign's rate, saved through `legal_cost_save`, so its
    amount is computed and the campaign's legal cost follows with a dated goal change, as in the
    admin. `flat=True` makes it a $350 disbursement; `paid=True`, `private=True` as named."""

    class Meta:
        model = LegalCost
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    kind = LegalCostKind.INVOICE
    description = factory.Sequence(lambda n: f"Letter to the other side ({n})")
    hours = Decimal("4")
    flat_amount = None

    class Params:
        flat = factory.Trait(
            kind=LegalCostKind.DISBURSEMENT,
            description="Court filing fee",
            hours=None,
            flat_amount=cad(Decimal("350.00")),
        )
        paid = factory.Trait(is_paid=True)
        private = factory.Trait(is_private=True)

    @classmethod
    def _create(cls, model_class: type[LegalCost], *args: Any, **kwargs: Any) -> LegalCost:
        return campaign_services.legal_cost_save(entry=model_class(**kwargs))


class GoalChangeFactory(factory.django.DjangoModelFactory[GoalChange]):
    """A line of the goal's history. A row only: the campaign's legal cost is not changed."""

    class Meta:
        model = GoalChange
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    old_legal_cost = cad(Decimal("2000.00"))
    new_legal_cost = cad(Decimal("3000.00"))
    reason = "The other side appealed."


def _estimate(stage: Any) -> Any:
    """`Stage.estimate` of a stage not built yet (a done stage spent its estimate)."""
    if stage.estimated_hours is not None:
        return cad(stage.estimated_hours * stage.campaign.hourly_rate.amount)
    return cad(stage.flat_amount.amount)


class StageFactory(factory.django.DjangoModelFactory[Stage]):
    """A possible next stage, "Trial preparation", 40 hours at the campaign's rate: it takes
    pledges. Pass `estimated_hours=None, flat_amount=...` for a flat estimate.

    The state traits build the row only: `active=True` charges no pledge (that is
    `donations.services.stages.stage_activate`), `cancelled=True` releases none."""

    class Meta:
        model = Stage
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    title = "Trial preparation"
    description = "If they sue."
    estimated_hours = Decimal("40")
    flat_amount = cad(Decimal("0.00"))
    state = StageState.POSSIBLE
    position = 2

    class Params:
        funding = factory.Trait(state=StageState.FUNDING)
        active = factory.Trait(
            state=StageState.ACTIVE, activated_at=factory.LazyFunction(timezone.now)
        )
        cancelled = factory.Trait(
            state=StageState.CANCELLED, cancelled_at=factory.LazyFunction(timezone.now)
        )
        done = factory.Trait(
            state=StageState.DONE, spent=factory.LazyAttribute(lambda stage: _estimate(stage))
        )
        all_or_nothing_target = factory.Trait(
            all_or_nothing=True,
            pledge_target=cad(Decimal("5000.00")),
            pledge_deadline=factory.LazyFunction(lambda: timezone.now() + timedelta(days=14)),
        )
