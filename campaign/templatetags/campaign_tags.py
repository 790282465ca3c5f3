from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.safestring import SafeString
from djmoney.money import Money

from campaign.formatting import hours_format, money_format, number_format
from campaign.rendering import markdown_to_html

register = template.Library()


@register.filter
def cad(value: Money | Decimal | None) -> str:
    return money_format(value)


@register.filter
def cad_whole(value: Money | Decimal | None) -> str:
    return money_format(value, cents=False)


@register.filter
def hours(value: Decimal) -> str:
    return hours_format(value)


@register.filter
def decimal1(value: Decimal) -> str:
    return number_format(value, places=1)


@register.filter
def markdown(value: str) -> SafeString:
    return markdown_to_html(value)
