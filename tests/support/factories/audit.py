"""Factories for `audit.models`."""

from __future__ import annotations

import factory

from audit.models import MoneyAction, MoneyAuditLog
from tests.support.factories.people import UserFactory


class MoneyAuditLogFactory(factory.django.DjangoModelFactory[MoneyAuditLog]):
    """An entry as `audit.services.audit_record` writes it: the organizer refunded $10.

    A row only: the services write the real ones, in the transaction that moves the money."""

    class Meta:
        model = MoneyAuditLog
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, username="organizer", staff=True)
    username = factory.LazyAttribute(lambda entry: entry.user.get_username() if entry.user else "")
    action = MoneyAction.REFUND
    object_type = "donations.Refund"
    object_id = factory.Sequence(str)
    object_repr = "C$10.00 (requested)"
    detail = factory.LazyFunction(lambda: {"amount": "10.00", "reason": "Gave twice by mistake"})
