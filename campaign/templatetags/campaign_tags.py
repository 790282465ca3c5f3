from __future__ import annotations

import functools
from decimal import Decimal
from typing import Protocol

from django import template
from django.http import HttpRequest
from django.urls import translate_url
from django.utils import translation
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext
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


class _Progress(Protocol):
    @property
    def percent(self) -> Decimal: ...
    @property
    def raised(self) -> Money: ...
    @property
    def community_goal(self) -> Money: ...


@register.filter
def progress_label(totals: _Progress) -> SafeString:
    """ "12% — $300.00 of $2,500.00", as the campaign page says it five times for every change:
    what `{% blocktranslate %}` made of it, with the same msgid (so the same translation) and
    its values escaped the same way, at a fraction of the template engine's cost."""
    return _progress_label(
        totals.percent,
        totals.raised.amount,
        totals.community_goal.amount,
        translation.get_language(),
    )


@functools.lru_cache(maxsize=1024)
def _progress_label(
    percent: Decimal, raised: Decimal, goal: Decimal, language: str | None
) -> SafeString:
    values = {"percent": percent_format(percent), "raised": money_format(raised)}
    values["goal"] = money_format(goal)
    text = gettext("%(percent)s%% — %(raised)s of %(goal)s")
    return SafeString(text % {key: conditional_escape(value) for key, value in values.items()})


@register.filter
def milestones(percent: Decimal) -> tuple[dict[str, object], ...]:
    """25/50/75/100 % of the community goal, each marked reached or not, with its label."""
    from campaign.services import milestones_reached

    reached = len(milestones_reached(percent=Decimal(percent)))
    return _milestones(reached, translation.get_language())


@functools.lru_cache(maxsize=64)
def _milestones(reached: int, language: str | None) -> tuple[dict[str, object], ...]:
    # Labels as `{% blocktranslate %}` made them (same msgids, values localized and escaped):
    # four of its renders per change, for at most five different lists in each language.
    from campaign.services import MILESTONES

    items = []
    for index, milestone in enumerate(MILESTONES):
        values = {"percent": conditional_escape(localize(milestone))}
        if index < reached:
            label = gettext("%(percent)s%% reached") % values
        else:
            label = gettext("%(percent)s%%: to come") % values
        items.append({"percent": milestone, "reached": index < reached, "label": SafeString(label)})
    return tuple(items)


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
