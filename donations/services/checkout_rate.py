"""Stripe's rate limit on Checkout Sessions, kept by every web process together.

Stripe allows 25 requests a second per endpoint and answers 429 beyond; `STRIPE_CHECKOUT_RATE`
(20 by default) keeps the site under it. Each start takes a slot in a sliding one-second window
counted in the shared cache (Redis: two INCR-sized round trips), so all processes of all hosts
share it. A start refused here creates nothing: the donor is asked to try again in a second or two.

While the cache is unreachable each process keeps its own share of the rate (rate ÷ its number of
processes, `WEB_CONCURRENCY`), logged once a minute: the site stays under Stripe's limit and
donations still start, a few fewer a second.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from core.outages import CACHE_ERRORS

logger = logging.getLogger(__name__)

KEY = "stripe:checkout:{second}"
clock: Callable[[], float] = time.time  # tests move it

_local_lock = threading.Lock()
_local: dict[int, int] = {}  # second -> sessions started by this process (cache outage only)
_outage_logged_at = 0.0


def checkout_wait_seconds() -> int:
    """Take a slot for one Checkout Session now: 0, or the seconds to wait when the rate is
    reached (nothing taken then)."""
    rate = max(1, settings.STRIPE_CHECKOUT_RATE)
    now = clock()
    second = int(now)
    try:
        return _shared(rate, now, second)
    except CACHE_ERRORS:
        _log_outage(now)
        return _per_process(_share(rate), now, second)


def web_processes() -> int:
    """gunicorn's processes on this host, read as gunicorn.conf.py reads them."""
    return int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))


def _share(rate: int) -> int:
    return max(1, rate // max(1, web_processes()))


def _shared(rate: int, now: float, second: int) -> int:
    key = KEY.format(second=second)
    cache.add(key, 0, timeout=5)
    used = cache.incr(key)
    previous = cache.get(KEY.format(second=second - 1)) or 0
    # Sliding window: the previous second weighs by the part of it still inside the last second.
    if previous * (1 - (now - second)) + used <= rate:
        return 0
    cache.decr(key)  # refused: this attempt takes no slot
    return _wait(now, second)


def _per_process(rate: int, now: float, second: int) -> int:
    with _local_lock:
        for old in [s for s in _local if s < second - 1]:
            del _local[old]
        used = _local.get(second, 0) + 1
        previous = _local.get(second - 1, 0)
        if previous * (1 - (now - second)) + used <= rate:
            _local[second] = used
            return 0
    return _wait(now, second)


def _wait(now: float, second: int) -> int:
    return max(1, math.ceil(second + 1 - now))


def _log_outage(now: float) -> None:
    global _outage_logged_at
    if now - _outage_logged_at >= 60:
        _outage_logged_at = now
        logger.warning(
            "Cache unavailable: the Checkout rate limit is kept by each web process alone "
            "(%s a second each) until it answers",
            _share(max(1, settings.STRIPE_CHECKOUT_RATE)),
        )
