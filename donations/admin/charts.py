"""The dashboard's chart, drawn on the server as SVG: no JavaScript, no build step.

Readable without colour: the daily amounts are hatched bars, the running total a solid line with
dots, the goal a dashed line with its amount written on it, and a legend shows the three.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from djmoney.money import Money

from core.formatting import money_format
from donations.selectors import ChartPoint

WIDTH, HEIGHT = 760, 340
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 20, 80
MAX_X_LABELS = 8


def _nice_top(value: Decimal) -> Decimal:
    """The smallest 4 × (1, 2, 2.5 or 5 × 10^k) at or above `value`: round axis labels."""
    step = value / 4
    magnitude = Decimal(10) ** (len(str(int(step))) - 1) if step >= 1 else Decimal(1)
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if magnitude * factor >= step:
            return magnitude * factor * 4
    return magnitude * 40  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def chart_svg(*, points: list[ChartPoint], goal: Money, title: str) -> SafeString:
    """An accessible SVG of money raised per day (bars) and in total (line) against the goal."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top_value = max(
        [goal.amount, Decimal("1")]
        + [p.cumulative.amount for p in points]
        + [p.raised.amount for p in points]
    )
    top_value = _nice_top(top_value * Decimal("1.05"))
    bottom_value = min([Decimal("0")] + [p.raised.amount for p in points])

    def y(value: Decimal) -> float:
        span = top_value - bottom_value
        return TOP + plot_h - float((value - bottom_value) / span) * plot_h

    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.6, 1.0)

    def x(i: int) -> float:
        return LEFT + slot * i + slot / 2

    desc = gettext(
        "Money raised per day as hatched bars and in total as a line, against the community "
        "goal of %(goal)s. Total so far: %(total)s."
    ) % {
        "goal": money_format(goal),
        "total": money_format(points[-1].cumulative if points else Money(0, "CAD")),
    }
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" '
        f'class="chart" font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(desc)}</desc>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#1b1f24" stroke-width="2"/></pattern></defs>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#888"/>',
    ]
    for k in range(5):  # value axis: five ticks with amounts
        value = bottom_value + (top_value - bottom_value) * k / 4
        ty = y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_fmt(ty)}" y2="{_fmt(ty)}" '
            'stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{_fmt(ty + 4)}" text-anchor="end">'
            f"{escape(money_format(Money(value, 'CAD'), cents=False))}</text>"
        )
    zero = y(Decimal("0"))
    for i, p in enumerate(points):
        top = y(max(p.raised.amount, Decimal("0")))
        height = abs(y(p.raised.amount) - zero)
        if p.raised.amount:
            parts.append(
                f'<rect class="day" x="{_fmt(x(i) - bar_w / 2)}" y="{_fmt(top)}" '
                f'width="{_fmt(bar_w)}" height="{_fmt(height)}" fill="url(#hatch)" '
                f'stroke="#1b1f24"><title>{escape(str(p.day))}: '
                f"{escape(money_format(p.raised))}</title></rect>"
            )
    if points:
        line = " ".join(
            f"{_fmt(x(i))},{_fmt(y(p.cumulative.amount))}" for i, p in enumerate(points)
        )
        parts.append(
            f'<polyline class="cumulative" points="{line}" fill="none" stroke="#0b5394" '
            'stroke-width="3"/>'
        )
        for i, p in enumerate(points):
            parts.append(
                f'<circle cx="{_fmt(x(i))}" cy="{_fmt(y(p.cumulative.amount))}" r="3.5" '
                f'fill="#0b5394"><title>{escape(str(p.day))}: '
                f"{escape(money_format(p.cumulative))}</title></circle>"
            )
        last = points[-1]
        parts.append(
            f'<text x="{_fmt(x(len(points) - 1) - 4)}" y="{_fmt(y(last.cumulative.amount) - 8)}" '
            f'text-anchor="end" font-weight="bold">{escape(money_format(last.cumulative))}</text>'
        )
    gy = y(goal.amount)
    goal_label = gettext("Community goal: %(goal)s") % {"goal": money_format(goal)}
    parts.append(
        f'<line class="goal" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_fmt(gy)}" y2="{_fmt(gy)}" '
        'stroke="#b45f06" stroke-width="2" stroke-dasharray="8 5"/>'
        f'<text x="{LEFT + 6}" y="{_fmt(gy - 6)}">{escape(goal_label)}</text>'
    )
    step = max(1, -(-len(points) // MAX_X_LABELS))
    for i, p in enumerate(points):
        if i % step == 0 or i == len(points) - 1:
            parts.append(
                f'<text x="{_fmt(x(i))}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                f"{p.day:%m-%d}</text>"
            )
    ly = HEIGHT - 24
    parts.append(
        f'<g class="legend"><rect x="{LEFT}" y="{ly - 10}" width="14" height="12" '
        f'fill="url(#hatch)" stroke="#1b1f24"/><text x="{LEFT + 20}" y="{ly}">'
        f"{escape(gettext('Raised that day'))}</text>"
        f'<line x1="{LEFT + 180}" x2="{LEFT + 210}" y1="{ly - 4}" y2="{ly - 4}" stroke="#0b5394" '
        f'stroke-width="3"/><circle cx="{LEFT + 195}" cy="{ly - 4}" r="3.5" fill="#0b5394"/>'
        f'<text x="{LEFT + 216}" y="{ly}">{escape(gettext("Raised in total"))}</text>'
        f'<line x1="{LEFT + 370}" x2="{LEFT + 400}" y1="{ly - 4}" y2="{ly - 4}" stroke="#b45f06" '
        f'stroke-width="2" stroke-dasharray="8 5"/>'
        f'<text x="{LEFT + 406}" y="{ly}">{escape(gettext("Community goal"))}</text></g>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
