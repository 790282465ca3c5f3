"""Money and time formatted as Canadians expect, in English and in Canadian French."""

from __future__ import annotations

import functools
from decimal import ROUND_DOWN, Decimal

from babel.numbers import format_currency, format_decimal
from django.utils import translation
from django.utils.translation import gettext, ngettext
from djmoney.money import Money

BABEL_LOCALES = {"en": "en_CA", "fr": "fr_CA"}


def babel_locale() -> str:
    language = (translation.get_language() or "en").split("-")[0]
    return BABEL_LOCALES.get(language, "en_CA")


def money_format(value: Money | Decimal | int | None, *, cents: bool = True) -> str:
    """ "$1,500.00" in English, "1 500,00 $" (no-break spaces) in French."""
    if value is None:
        return ""
    amount = value.amount if isinstance(value, Money) else Decimal(value)
    text = _currency(amount, babel_locale())
    if not cents and amount == amount.to_integral_value():
        # Whole dollars read better in headlines: "$2,000" / "2 000 $".
        decimal_sign = "," if babel_locale() == "fr_CA" else "."
        text = text.replace(f"{decimal_sign}00", "")
    return text


def number_format(value: Decimal | int, *, places: int = 1) -> str:
    quantum = Decimal(1).scaleb(-places)
    return _decimal(Decimal(value).quantize(quantum), babel_locale())


def percent_format(value: Decimal | int) -> str:
    """A whole percentage, rounded down so 99.9% never reads as 100%: "112" / "1 120"."""
    return _decimal(Decimal(value).to_integral_value(ROUND_DOWN), babel_locale())


# Babel's formatting is a fifth of a page's render, and the same few figures recur on every page
# (a total appears seven times on the campaign page): memoised, a pure function of its arguments.
# Equal Decimals format alike here (currency digits fixed; decimals quantized before).
@functools.lru_cache(maxsize=4096)
def _currency(amount: Decimal, locale: str) -> str:
    return format_currency(amount, "CAD", locale=locale)


@functools.lru_cache(maxsize=4096)
def _decimal(value: Decimal, locale: str) -> str:
    return format_decimal(value, locale=locale)


def hours_format(hours: Decimal) -> str:
    """Lawyer time as hours and whole minutes, rounded down so it never overstates."""
    return minutes_format(int((Decimal(hours) * 60).to_integral_value(ROUND_DOWN)))


def minutes_format(total_minutes: int) -> str:
    """ "6 hours and 43 minutes", "12 minutes", "1 hour"."""
    h, m = divmod(max(int(total_minutes), 0), 60)
    if h and m:
        return gettext("%(hours)s and %(minutes)s") % {
            "hours": ngettext("%(n)d hour", "%(n)d hours", h) % {"n": h},
            "minutes": ngettext("%(n)d minute", "%(n)d minutes", m) % {"n": m},
        }
    if h:
        return ngettext("%(n)d hour", "%(n)d hours", h) % {"n": h}
    return ngettext("%(n)d minute", "%(n)d minutes", m) % {"n": m}
