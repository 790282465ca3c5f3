"""Factories for the donor's page: sign-in links and erasure requests (rows only)."""

from __future__ import annotations

import secrets

import factory
from django.utils import timezone

from donations.models import DonorAccess, ErasureRequest


class DonorAccessFactory(factory.django.DjangoModelFactory[DonorAccess]):
    """The newest link's nonce of one address (a row; `donor_link_issue` makes the real ones)."""

    class Meta:
        model = DonorAccess

    email = factory.Sequence(lambda n: f"donor{n}@example.org")
    nonce = factory.LazyFunction(lambda: secrets.token_hex(16))
    issued_at = factory.LazyFunction(timezone.now)


class ErasureRequestFactory(factory.django.DjangoModelFactory[ErasureRequest]):
    """A donor's request waiting for the organizer (`confirmed=True`: already done)."""

    class Meta:
        model = ErasureRequest

    email = factory.Sequence(lambda n: f"donor{n}@example.org")
    language = "en"

    class Params:
        confirmed = factory.Trait(
            email="", confirmed_at=factory.LazyFunction(timezone.now), confirmed_by="admin"
        )
