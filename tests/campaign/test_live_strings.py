"""The campaign page's live strings computed in Python (campaign/templatetags/campaign_tags.py)
read exactly as the `{% blocktranslate %}` they replace, in English and in Canadian French."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.utils import translation

from core.money import cad

LABEL_BEFORE = (
    "{% load i18n campaign_tags %}{% blocktranslate with percent=totals.percent|percent "
    "raised=totals.raised|cad goal=totals.community_goal|cad %}{{ percent }}% — {{ raised }} of "
    "{{ goal }}{% endblocktranslate %}"
)
MILESTONES_BEFORE = (
    "{% load i18n campaign_tags %}{% for m in totals.percent|milestones %}{% if m.reached %}"
    "{% blocktranslate with percent=m.percent %}{{ percent }}% reached{% endblocktranslate %}"
    "{% else %}{% blocktranslate with percent=m.percent %}{{ percent }}%: to come"
    "{% endblocktranslate %}{% endif %}|{% endfor %}"
)
MILESTONES_NOW = (
    "{% load campaign_tags %}{% for m in totals.percent|milestones %}{{ m.label }}|{% endfor %}"  # noqa: E501
)

FIGURES = [
    ("0.0", "0", "1500"),
    ("53.6", "805.00", "1500.00"),
    ("99.9", "1499.25", "1500"),
    ("1234.5", "1234567.89", "100000"),
]


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize(("percent", "raised", "goal"), FIGURES)
def test_the_progress_label_is_what_blocktranslate_made(
    language: str, percent: str, raised: str, goal: str
) -> None:
    totals = SimpleNamespace(percent=Decimal(percent), raised=cad(raised), community_goal=cad(goal))
    with translation.override(language):
        now = render("{% load campaign_tags %}{{ totals|progress_label }}", totals=totals)
        assert now == render(LABEL_BEFORE, totals=totals)
        assert render(MILESTONES_NOW, totals=totals) == render(MILESTONES_BEFORE, totals=totals)


def test_the_french_label_is_the_french_translation() -> None:
    totals = SimpleNamespace(
        percent=Decimal("53.6"), raised=cad("1805.00"), community_goal=cad("2500")
    )
    with translation.override("fr"):
        label = render("{% load campaign_tags %}{{ totals|progress_label }}", totals=totals)
        milestones = render(MILESTONES_NOW, totals=totals)
    nbsp = "\u00a0"
    assert label == f"53{nbsp}% — 1{nbsp}805,00{nbsp}$ sur 2{nbsp}500,00{nbsp}$"
    assert "atteint" in milestones and "à venir" in milestones
    with translation.override("en"):
        assert render("{% load campaign_tags %}{{ totals|progress_label }}", totals=totals) == (
            "53% — $1,805.00 of $2,500.00"
        )
