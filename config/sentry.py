"""Error reporting to Sentry, on only when SENTRY_DSN is set, without donors' personal data.

`send_default_pii` stays off (no cookies, users, client addresses), and `scrub` runs on every event
before it leaves: email addresses anywhere in it (messages, exception values, local variables,
request bodies, breadcrumbs) become "[email]", and the values of fields that hold a donor's name or
message become "[Filtered]". The Celery integration reports failed tasks and sends a check-in for
every beat job, so Sentry also notices when beat stops.
"""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Form fields and model attributes that carry what a donor typed about themselves.
PERSONAL_KEYS = frozenset(
    {"email", "customer_email", "display_name", "name", "donor_name", "message", "receipt_email"}
)
FILTERED = "[Filtered]"


def _scrubbed(value: Any, key: str = "") -> Any:
    if key.lower().strip("'\"") in PERSONAL_KEYS and value not in (None, "", [], {}):
        return FILTERED
    if isinstance(value, str):
        return EMAIL.sub("[email]", value)
    if isinstance(value, dict):
        return {k: _scrubbed(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(v) for v in value]
    return value


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """before_send / before_send_transaction: the event with no donor email, name or message."""
    scrubbed: dict[str, Any] = _scrubbed(event)
    return scrubbed


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = _scrubbed(crumb)
    return result


def sentry_init(*, dsn: str, environment: str) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=True)],
        send_default_pii=False,
        before_send=scrub,  # type: ignore[arg-type]
        before_send_transaction=scrub,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,  # type: ignore[arg-type]
        traces_sample_rate=0.0,
    )
