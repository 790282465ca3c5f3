from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils.translation import ngettext

from ops.services import late_after, statuses

register = template.Library()


def _every(period: timedelta) -> str:
    minutes = round(period.total_seconds() / 60)
    if minutes >= 120:
        hours = round(minutes / 60)
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    minutes = max(minutes, 1)
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


@register.inclusion_tag("ops/background_status.html")
def background_status() -> dict[str, Any]:
    """When the worker, beat, reconciliation and the last backup last ran; late ones in red."""
    rows = [(status, _every(late_after(status.name))) for status in statuses()]
    return {"rows": rows}
