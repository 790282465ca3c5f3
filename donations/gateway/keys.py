"""Idempotency keys for Stripe requests: our own id plus a short hash of the exact parameters.

Stripe keeps a key's first answer for 24 hours and refuses the key reused with other parameters
(`idempotency_error`). What a Checkout Session says depends on the request: the donor's language
picks `locale` and the `/fr/` return URLs. So the same request retried ("Try again" after a Stripe
blip) gets the same key and Stripe's stored answer (the session it may already have opened),
while a changed request (the donor switched language) gets a new key and a new session.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def idempotency_key(prefix: str, params: dict[str, Any]) -> str:
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return f"{prefix}-{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"
