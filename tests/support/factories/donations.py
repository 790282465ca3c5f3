"""Factories for `donations.models`.

Money moves the way the domain moves it: a donation counts only through the services
(`confirmed=True` is the paid Checkout's fulfilment, `refunded=` Stripe's refund figure,
`disputed=` the dispute events), so the campaign's totals, rollups and tallies always agree with
the rows. The factories of those derived rows (`CampaignTotalsFactory`, `DailyRollupFactory`,
`AmountTallyFactory`, `DonorTallyFactory`) and of the closing accounts build rows with no
donation behind them: for a test that only reads them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.db import transaction
from django.utils import timezone

from core.money import cad
from donations import gateway, services
from donations.models import (
    AmountTally,
    CampaignTotals,
    CaseClosure,
    Channel,
    ClosureState,
    DailyRollup,
    Donation,
    DonationState,
    DonorTally,
    EventStatus,
    OfflineGift,
    Pledge,
    PledgeState,
    Refund,
    RefundStatus,
    ShareState,
    StripeEvent,
    SurplusShare,
    donor_key_for,
)
from tests.support.factories.campaign import CampaignFactory, StageFactory
from tests.support.factories.people import UserFactory


def pay(donation: Donation, *, payment_intent_id: str = "") -> Donation:
    """Confirm a donation through the real fulfilment service, as a paid checkout would."""
    services.donation_fulfil(
        result=gateway.CheckoutResult(
            session_id=f"cs_{donation.public_id}",
            payment_status="paid",
            amount_total=donation.amount,
            currency="CAD",
            donation_ref=str(donation.public_id),
            payment_intent_id=payment_intent_id or f"pi_{donation.pk}",
        )
    )
    donation.refresh_from_db()
    return donation


class DonationFactory(factory.django.DjangoModelFactory[Donation]):
    """A pending donation: it does not count until a service confirms it.

    `confirmed=True` pays it through fulfilment (the totals move); `refunded=True` (all) or
    `refunded="10.00"` (part) confirms it, then applies Stripe's refunded figure; `disputed="open"`,
    `"lost"` or `"won"` confirms it, then runs the dispute events. `flagged=True` is a payment that
    did not match (never counted).
    """

    class Meta:
        model = Donation
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    amount = cad(Decimal("25.00"))
    display_name = factory.Faker("first_name")
    email = factory.Sequence(lambda n: f"donor{n}@example.org")
    channel = Channel.STRIPE
    state = DonationState.PENDING

    class Params:
        flagged = factory.Trait(flag="Paid 20.00 CAD, expected 25.00 CAD")
        anonymous_gift = factory.Trait(anonymous=True, display_name="")

    @factory.post_generation
    def confirmed(obj: Donation, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            pay(obj)

    @factory.post_generation
    def refunded(obj: Donation, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not (create and extracted):
            return
        if not obj.is_counted:
            pay(obj)
        amount = obj.amount if extracted is True else cad(Decimal(str(extracted)))
        services.refund_record(
            donation_ref=str(obj.public_id),
            payment_intent_id=obj.payment_intent_id,
            charge_id="",
            amount_refunded=amount,
        )
        obj.refresh_from_db()

    @factory.post_generation
    def disputed(obj: Donation, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not (create and extracted):
            return
        if not obj.is_counted:
            pay(obj)

        def dispute(status: str) -> gateway.Dispute:
            # No balance transactions: the service holds amount + Stripe's fee while withdrawn.
            return gateway.Dispute(
                dispute_id=f"dp_{obj.pk}",
                payment_intent_id=obj.payment_intent_id,
                charge_id=obj.charge_id,
                status=status,
                amount=cad(obj.amount.amount - obj.amount_refunded.amount),
                currency="CAD",
            )

        with transaction.atomic():
            services.disputes.dispute_apply(dispute=dispute("needs_response"))
        if extracted in ("won", "lost"):
            with transaction.atomic():
                services.disputes.dispute_apply(dispute=dispute(str(extracted)))
        obj.refresh_from_db()


def confirmed_donation(campaign: Any, amount: str = "25.00", **fields: Any) -> Donation:
    """A donation confirmed through the real fulfilment service, as a paid checkout would be."""
    return DonationFactory.create(
        campaign=campaign, amount=cad(Decimal(amount)), confirmed=True, **fields
    )


class OfflineGiftFactory(factory.django.DjangoModelFactory[OfflineGift]):
    """A cheque recorded through `offline_gift_record`, as the admin does: it counts at once."""

    class Meta:
        model = OfflineGift
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    amount = cad(Decimal("100.00"))
    channel = Channel.CHEQUE
    received_on = factory.LazyFunction(timezone.localdate)
    display_name = "Local 301"
    email = ""
    reference = factory.Sequence(lambda n: f"Cheque #{1000 + n}")
    user = None

    @classmethod
    def _create(cls, model_class: type[OfflineGift], *args: Any, **kwargs: Any) -> OfflineGift:
        gift = services.offline_gift_record(**kwargs)
        return OfflineGift.objects.get(pk=gift.pk)


class CampaignTotalsFactory(factory.django.DjangoModelFactory[CampaignTotals]):
    """Figures set by hand (no donation behind them); the ledger keeps the real ones."""

    class Meta:
        model = CampaignTotals
        django_get_or_create = ("campaign",)
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    gross = cad(Decimal("500.00"))
    fees = cad(Decimal("16.00"))
    donation_count = 20
    donor_count = 18


class DonorTallyFactory(factory.django.DjangoModelFactory[DonorTally]):
    """How many counted gifts one donor has (a row; the ledger keeps the real ones)."""

    class Meta:
        model = DonorTally
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    donor_key = factory.Sequence(lambda n: donor_key_for(f"donor{n}@example.org"))
    counted = 1


class DailyRollupFactory(factory.django.DjangoModelFactory[DailyRollup]):
    """One day of a campaign's chart (a row; the ledger keeps the real ones)."""

    class Meta:
        model = DailyRollup
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    day = factory.Sequence(lambda n: timezone.localdate() - timedelta(days=n))
    gross = cad(Decimal("75.00"))
    fees = cad(Decimal("3.08"))
    donation_count = 3


class AmountTallyFactory(factory.django.DjangoModelFactory[AmountTally]):
    """How many counted gifts keep one amount (a row; the ledger keeps the real ones)."""

    class Meta:
        model = AmountTally
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    amount = factory.Sequence(lambda n: Decimal(10 + n))
    count = 1


def _event_payload(event: Any) -> dict[str, Any]:
    return {
        "id": event.stripe_id,
        "object": "event",
        "type": event.type,
        "livemode": False,
        "data": {"object": {"id": "cs_test_factory", "object": "checkout.session"}},
    }


class StripeEventFactory(factory.django.DjangoModelFactory[StripeEvent]):
    """A stored webhook event, not processed yet (`processed=True`, `failed=True`, `ignored=True`).
    A row only: no handler runs (that is `services.event_process`)."""

    class Meta:
        model = StripeEvent
        skip_postgeneration_save = True

    stripe_id = factory.Sequence(lambda n: f"evt_test_{n:06d}")
    type = "checkout.session.completed"
    payload = factory.LazyAttribute(_event_payload)
    headers = factory.LazyFunction(lambda: {"Stripe-Signature": "t=0,v1=test"})
    status = EventStatus.RECEIVED

    class Params:
        processed = factory.Trait(
            status=EventStatus.PROCESSED,
            attempts=1,
            processed_at=factory.LazyFunction(timezone.now),
        )
        ignored = factory.Trait(
            status=EventStatus.IGNORED, attempts=1, processed_at=factory.LazyFunction(timezone.now)
        )
        failed = factory.Trait(
            status=EventStatus.FAILED,
            attempts=1,
            error="DonationNotFound: No donation for cs_test_factory",
            traceback='Traceback (most recent call last):\n  File "stripe_events.py"\n',
        )


class RefundFactory(factory.django.DjangoModelFactory[Refund]):
    """A $10 refund the admin asked for on a confirmed gift: nothing moves until Stripe confirms.

    `submitted=True`, `failed=True` build the row in that state; `confirmed=True` goes through the
    domain: Stripe's refunded figure is applied to the donation (the totals move) and settles it.
    """

    class Meta:
        model = Refund
        skip_postgeneration_save = True

    donation = factory.SubFactory(DonationFactory, confirmed=True)
    amount = cad(Decimal("10.00"))
    reason = "Gave twice by mistake"
    requested_by = factory.SubFactory(UserFactory, username="organizer", staff=True)
    status = RefundStatus.REQUESTED

    class Params:
        submitted = factory.Trait(
            status=RefundStatus.SUBMITTED,
            stripe_refund_id=factory.Sequence(lambda n: f"re_test_{n:06d}"),
            attempts=1,
            submitted_at=factory.LazyFunction(timezone.now),
        )
        failed = factory.Trait(
            status=RefundStatus.FAILED,
            stripe_refund_id=factory.Sequence(lambda n: f"re_test_{n:06d}"),
            attempts=1,
            error="expired_or_canceled_card",
        )

    @factory.post_generation
    def confirmed(obj: Refund, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not (create and extracted):
            return
        Refund.objects.filter(pk=obj.pk).update(
            status=RefundStatus.SUBMITTED,
            stripe_refund_id=obj.stripe_refund_id or f"re_test_{obj.pk:06d}",
            submitted_at=timezone.now(),
            attempts=1,
        )
        donation = obj.donation
        donation = services.refund_record(
            donation_ref=str(donation.public_id),
            payment_intent_id=donation.payment_intent_id,
            charge_id="",
            amount_refunded=cad(donation.amount_refunded.amount + obj.amount.amount),
        )
        services.refunds_settle(donation=donation)
        obj.refresh_from_db()


class PledgeFactory(factory.django.DjangoModelFactory[Pledge]):
    """A $50 pledge with a saved card toward a possible stage: not charged, counts nowhere.

    `setup=True` is one whose card is not saved yet; `cancelled`, `released`, `needs_action`,
    `failed` build the row in that state. `charged=True` goes through the domain: the pledge's
    donation is created and paid through fulfilment, whose ledger marks the pledge charged and
    moves the totals (pass an active stage, `stage=StageFactory(active=True)`, to be realistic).
    """

    class Meta:
        model = Pledge
        skip_postgeneration_save = True

    stage = factory.SubFactory(StageFactory)
    amount = cad(Decimal("50.00"))
    state = PledgeState.PLEDGED
    email = factory.Sequence(lambda n: f"pledger{n}@example.org")
    display_name = "Luc"
    checkout_session_id = factory.Sequence(lambda n: f"cs_test_setup_{n:06d}")
    customer_id = factory.Sequence(lambda n: f"cus_test_{n:06d}")
    payment_method_id = factory.Sequence(lambda n: f"pm_test_{n:06d}")
    pledged_at = factory.LazyFunction(timezone.now)

    class Params:
        setup = factory.Trait(
            state=PledgeState.SETUP, customer_id="", payment_method_id="", pledged_at=None
        )
        cancelled = factory.Trait(
            state=PledgeState.CANCELLED, ended_at=factory.LazyFunction(timezone.now)
        )
        released = factory.Trait(
            state=PledgeState.RELEASED, ended_at=factory.LazyFunction(timezone.now)
        )
        needs_action = factory.Trait(
            state=PledgeState.NEEDS_ACTION,
            attempts=1,
            last_error="Your card was declined. This transaction requires authentication.",
        )
        failed = factory.Trait(
            state=PledgeState.FAILED, attempts=1, last_error="Your card was declined."
        )

    @factory.post_generation
    def charged(obj: Pledge, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not (create and extracted):
            return
        # As `pledges.pledge_charge` does: a donation for the pledge, the pledge `charging`.
        donation = Donation.objects.create(
            campaign=obj.stage.campaign,
            amount=obj.amount,
            display_name=obj.display_name,
            anonymous=obj.anonymous,
            show_amount=obj.show_amount,
            email=obj.email,
            language=obj.language,
            channel=Channel.STRIPE,
        )
        payment_intent_id = f"pi_pledge_{obj.pk}"
        Pledge.objects.filter(pk=obj.pk).update(
            donation=donation,
            state=PledgeState.CHARGING,
            payment_intent_id=payment_intent_id,
            charge_started_at=timezone.now(),
            attempts=1,
        )
        pay(donation, payment_intent_id=payment_intent_id)
        obj.refresh_from_db()


class CaseClosureFactory(factory.django.DjangoModelFactory[CaseClosure]):
    """Closing accounts that balance ($1,000 raised, $41 surplus refunded). A row only: the
    campaign stays open and no share is made (that is `services.surplus.case_close`)."""

    class Meta:
        model = CaseClosure
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    rule = "refund"
    raised = cad(Decimal("1000.00"))
    fees = cad(Decimal("59.00"))
    spent = cad(Decimal("900.00"))
    surplus = cad(Decimal("41.00"))
    refunded = cad(Decimal("41.00"))
    state = ClosureState.DONE
    closed_by = "organizer"

    class Params:
        refunding = factory.Trait(state=ClosureState.REFUNDING)


class SurplusShareFactory(factory.django.DjangoModelFactory[SurplusShare]):
    """One confirmed gift's $5 share of a closure's surplus, not refunded yet (a row)."""

    class Meta:
        model = SurplusShare
        skip_postgeneration_save = True

    closure = factory.SubFactory(CaseClosureFactory)
    donation = factory.SubFactory(
        DonationFactory, campaign=factory.SelfAttribute("..closure.campaign"), confirmed=True
    )
    amount = cad(Decimal("5.00"))
    state = ShareState.PENDING

    class Params:
        manual = factory.Trait(state=ShareState.MANUAL)
        failed = factory.Trait(state=ShareState.FAILED, error="No charge to refund.")
