"""Stripe's rate limit on Checkout Sessions, kept by every web process together.

Stripe allows 25 requests a second per endpoint and answers 429 beyond; `STRIPE_CHECKOUT_RATE`
(20 by default) keeps the site under it. Each start takes a slot in a sliding one-second log: the
times of the starts let through in the last second, so over *any* one-second window no more than
the rate get through, and a burst of donors clicking at once is let through up to the rate.
(Counting per clock second, with the previous second weighted, as this module did before, let up
to twice the rate through across a second's boundary; the bench's Stripe fake, which limits over a
sliding second as Stripe does, refused some of them.)

The log is a sorted set in Redis of at most `rate` entries, trimmed, counted and added to by one
Lua script: one round trip, atomic for every process on every host, timed by Redis's own clock so
hosts whose clocks differ still share one window. A start refused here creates nothing: the donor
is asked to try again when the oldest start leaves the window (a second at most).

While the cache is unreachable each process keeps its own share of the rate (rate ÷ its number of
processes, `WEB_CONCURRENCY`) in a log of its own, logged once a minute: the site stays under
Stripe's limit and donations still start, a few fewer a second. A cache that is not Redis (the
development default) has one process to keep: it keeps the whole rate the same way.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import get_random_string

from core.outages import CACHE_ERRORS

logger = logging.getLogger(__name__)

KEY = "stripe:checkout:log"
WINDOW_SECONDS = 1.0
# None: Redis's clock (production). Tests set a function returning seconds; it then times both
# the shared and the per-process logs.
clock: Callable[[], float] | None = None

# KEYS[1]: the log (score: the time of a start let through). ARGV: now ('' for Redis's clock),
# the rate, a member unique to this start. Returns '0' when a slot is taken, else the seconds
# until the oldest start leaves the window. Strings out: Lua numbers come back truncated.
_SLIDING_LOG = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local rate = tonumber(ARGV[2])
-- Out of the window; and, should the clock have gone back, anything "after" now.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 1)
redis.call('ZREMRANGEBYSCORE', KEYS[1], string.format('(%.17g', now), '+inf')
if redis.call('ZCARD', KEYS[1]) >= rate then
  local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
  return tostring(math.max(oldest + 1 - now, 0.001))
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], 2000)
return '0'
"""

_local_lock = threading.Lock()
_local: collections.deque[float] = collections.deque()  # cache outage, or a cache not Redis
_outage_logged_at = 0.0


def checkout_wait_seconds() -> int:
    """Take a slot for one Checkout Session now: 0, or the seconds to wait when the rate is
    reached (nothing taken then)."""
    rate = max(1, settings.STRIPE_CHECKOUT_RATE)
    try:
        client = _redis()
        if client is None:
            return _per_process(rate)
        return _shared(client, rate)
    except CACHE_ERRORS:
        _log_outage()
        return _per_process(_share(rate))


def web_processes() -> int:
    """gunicorn's processes on this host, read as gunicorn.conf.py reads them."""
    return int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))


def _share(rate: int) -> int:
    return max(1, rate // max(1, web_processes()))


def _redis() -> object | None:
    """The cache's Redis client, or None when the cache is not Redis (django-redis)."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client else None


def _shared(client: object, rate: int) -> int:
    now = "" if clock is None else repr(clock())
    answer = client.eval(  # type: ignore[attr-defined]
        _SLIDING_LOG, 1, cache.make_key(KEY), now, str(rate), get_random_string(16)
    )
    return 0 if answer in (b"0", "0") else _wait(float(answer))


def _per_process(rate: int) -> int:
    now = time.time() if clock is None else clock()
    with _local_lock:
        while _local and _local[0] <= now - WINDOW_SECONDS:
            _local.popleft()
        if _local and _local[-1] > now:  # the clock went back: as in _SLIDING_LOG
            _local.clear()
        if len(_local) >= rate:
            return _wait(_local[0] + WINDOW_SECONDS - now)
        _local.append(now)
        return 0


def _wait(seconds: float) -> int:
    """What a refused donor is told: whole seconds, at least one."""
    return max(1, math.ceil(seconds))


def _log_outage() -> None:
    global _outage_logged_at
    now = time.time() if clock is None else clock()
    if now - _outage_logged_at >= 60:
        _outage_logged_at = now
        logger.warning(
            "Cache unavailable: the Checkout rate limit is kept by each web process alone "
            "(%s a second each) until it answers",
            _share(max(1, settings.STRIPE_CHECKOUT_RATE)),
        )
