"""Money in one currency, exact to the cent: the helpers every app uses for amounts.

Amounts are `Money` in CAD everywhere; rounding is explicit (half up) and happens here. Integer
cents exist only at the payment gateway's edge (`money_to_cents`, `cents_to_money`).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TypeVar

from django.db import models
from djmoney.models.fields import MoneyField
from djmoney.models.managers import add_money_comprehension_to_queryset
from djmoney.money import Money

CURRENCY = "CAD"

_M = TypeVar("_M", bound=models.Model)


def cad(amount: Decimal | int | str) -> Money:
    """A CAD amount, quantized to the cent with explicit half-up rounding."""
    return Money(Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), CURRENCY)


def goal_percent(raised: Decimal, goal: Decimal) -> Decimal:
    """Percent of a goal, one decimal, rounded down: $1,499.25 of $1,500 is 99.9%, never "100%"
    before the goal is met. 0.0 for no goal."""
    if goal <= 0:
        return Decimal("0.0")
    return (raised * 100 / goal).quantize(Decimal("0.1"), ROUND_DOWN)


def money_to_cents(amount: Money) -> int:
    if amount.currency.code != CURRENCY:
        raise ValueError(f"Only {CURRENCY} is supported, not {amount.currency.code}.")
    cents = (amount.amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return int(cents)


def cents_to_money(cents: int) -> Money:
    return cad(Decimal(int(cents)) / 100)


def money_field(**kwargs: object) -> MoneyField:
    kwargs.setdefault("default", Decimal("0.00"))
    return MoneyField(
        max_digits=14,
        decimal_places=2,
        default_currency=CURRENCY,
        currency_choices=[(CURRENCY, "CAD")],
        **kwargs,  # type: ignore[arg-type]
    )


class MoneyManager(models.Manager[_M]):
    """A manager whose querysets accept `Money` in filters and `F()` updates.

    django-money wraps a model's default manager in a class made at run time, but a manager
    declared on the model is copied by Django before that happens, and type checkers cannot see a
    class made at run time. Every model with a money field declares `objects = MoneyManager()`.
    """

    def get_queryset(self) -> models.QuerySet[_M]:
        queryset: models.QuerySet[_M] = add_money_comprehension_to_queryset(super().get_queryset())
        return queryset
