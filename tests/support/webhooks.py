"""Stripe webhooks as the tests send them: signed with the secret the test settings trust."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from testing.stripe_fake import sign

# The secret `tests/testenv.py` gives the process and the `_isolated_settings` fixture the site.
WEBHOOK_SECRET = "whsec_test_primary"


def post_event(
    client: Client,
    event: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
) -> Any:
    """Post one event to the webhook, signed as Stripe signs it."""
    payload = json.dumps(event).encode()
    return client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload, secret, timestamp)},
    )
