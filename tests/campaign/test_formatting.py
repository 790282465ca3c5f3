"""Money arithmetic and formatting: CAD only, cents exact, half-up rounding, Canadian formats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from djmoney.money import Money

from core.formatting import hours_format, minutes_format, money_format, percent_format
from core.money import cad, cents_to_money, money_to_cents

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("25", "25.00"),
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("2.675", "2.68"),  # a float would give 2.67
        ("2.665", "2.67"),  # banker's rounding would give 2.66
        ("-2.665", "-2.67"),
        ("1499.995", "1500.00"),
    ],
)
def test_cad_rounds_half_up_to_the_cent(raw, expected):
    amount = cad(raw)

    assert amount == Money(Decimal(expected), "CAD")
    assert str(amount.amount) == expected
    assert amount.currency.code == "CAD"


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("25.00", 2500),
        ("2.00", 200),
        ("10000.00", 1_000_000),
        ("0.01", 1),
        ("19.99", 1999),
        ("0.005", 1),  # half a cent rounds up, never down
        ("0.0049", 0),
        ("2.675", 268),
    ],
)
def test_money_to_cents_rounds_half_up(amount, cents):
    assert money_to_cents(Money(Decimal(amount), "CAD")) == cents


def test_money_to_cents_refuses_other_currencies():
    with pytest.raises(ValueError, match="Only CAD"):
        money_to_cents(Money(Decimal("25"), "USD"))


@pytest.mark.parametrize("cents", [0, 1, 99, 2500, 123_456_789])
def test_cents_round_trip(cents):
    money = cents_to_money(cents)

    assert money.currency.code == "CAD"
    assert money_to_cents(money) == cents


def test_money_arithmetic_stays_exact():
    gifts = [cad("0.10")] * 30 + [cad("1499.99"), cad("0.01")]
    total = sum((g.amount for g in gifts), Decimal("0"))

    assert cad(total) == cad("1503.00")
    assert cad("0.1") + cad("0.2") == cad("0.30")  # 0.1 + 0.2 != 0.3 with floats


@pytest.mark.parametrize(
    ("value", "english", "french"),
    [
        (cad("1500"), "$1,500.00", f"1{NBSP}500,00{NBSP}$"),
        (cad("0.5"), "$0.50", f"0,50{NBSP}$"),
        (cad("1234567.89"), "$1,234,567.89", f"1{NBSP}234{NBSP}567,89{NBSP}$"),
        (Decimal("25"), "$25.00", f"25,00{NBSP}$"),
        (2000, "$2,000.00", f"2{NBSP}000,00{NBSP}$"),
    ],
)
def test_money_format_in_english_and_canadian_french(value, english, french):
    with translation.override("en"):
        assert money_format(value) == english
    with translation.override("fr"):
        assert money_format(value) == french


def test_whole_dollars_without_cents_for_headlines():
    with translation.override("en"):
        assert money_format(cad("2000"), cents=False) == "$2,000"
        assert money_format(cad("25.50"), cents=False) == "$25.50"
    with translation.override("fr"):
        assert money_format(cad("2000"), cents=False) == f"2{NBSP}000{NBSP}$"


def test_money_format_of_nothing_is_empty():
    assert money_format(None) == ""


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0, "0 minutes"),
        (1, "1 minute"),
        (12, "12 minutes"),
        (60, "1 hour"),
        (120, "2 hours"),
        (61, "1 hour and 1 minute"),
        (403, "6 hours and 43 minutes"),
        (-5, "0 minutes"),
    ],
)
def test_minutes_format(minutes, text):
    with translation.override("en"):
        assert minutes_format(minutes) == text


def test_hours_format_rounds_down_to_the_minute():
    with translation.override("en"):
        assert hours_format(Decimal("6.72")) == "6 hours and 43 minutes"
        assert hours_format(Decimal("0.1")) == "6 minutes"
        assert hours_format(Decimal("0.0999")) == "5 minutes"


@pytest.mark.parametrize(
    ("value", "text"), [(Decimal("112.0"), "112"), (Decimal("99.9"), "99"), (Decimal("0"), "0")]
)
def test_percent_is_whole_and_never_rounded_up(value, text):
    with translation.override("en"):
        assert percent_format(value) == text


def test_hours_and_minutes_funded_use_the_hourly_rate(campaign):
    assert campaign.hours_for(cad("1680")) == Decimal("6.72")
    assert campaign.minutes_for(cad("50")) == 12
    assert campaign.minutes_for(cad("25")) == 6
    # $20.84 is 5.0016 minutes: rounding the hours first would have said 4.
    assert campaign.minutes_for(cad("20.84")) == 5
    assert campaign.minutes_for(cad("1.00")) == 0
    assert campaign.organizer_share == cad("500.00")
