from __future__ import annotations

from decimal import Decimal

from django import template
from django.http import HttpRequest
from django.urls import translate_url
from django.utils.safestring import SafeString
from djmoney.money import Money

from core.formatting import (
    hours_format,
    minutes_format,
    money_format,
    number_format,
    percent_format,
)
from core.rendering import markdown_to_html

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
def minutes(value: int) -> str:
    return minutes_format(value)


@register.filter
def percent(value: Decimal) -> str:
    return percent_format(value)


@register.filter
def decimal1(value: Decimal) -> str:
    return number_format(value, places=1)


@register.filter
def markdown(value: str) -> SafeString:
    return markdown_to_html(value)


@register.filter
def milestones(percent: Decimal) -> list[dict[str, object]]:
    """25/50/75/100 % of the community goal, each marked reached or not."""
    from campaign.services import MILESTONES, milestones_reached

    reached = milestones_reached(percent=Decimal(percent))
    return [{"percent": m, "reached": m in reached} for m in MILESTONES]


@register.simple_tag(takes_context=True)
def page_in(context: dict[str, object], language: str) -> str:
    """This page's address in another language, for the language switcher's `next`.

    Resolved now, in the page's own language: Django's set_language view resolves `next` in the
    language of its own request, which cannot see `/fr/` addresses from an English request.
    """
    request = context.get("request")
    if not isinstance(request, HttpRequest):
        return "/"
    return translate_url(request.get_full_path(), language)
