"""The Checkout limiter's window: over any one-second window, never more than the rate of starts,
whatever the arrivals, and a crowd clicking at once is let through up to the rate; every web
process on every host shares one log in Redis (one Lua script, atomic, on Redis's clock), and each
keeps its own share while Redis is down, or the whole rate when the cache is not Redis.

The old limiter counted per clock second with the previous one weighted: a burst at the end of one
second and another at the start of the next got up to twice the rate through in one real second,
which the bench's Stripe fake (a sliding second, as Stripe) answered with 429s.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from typing import Any

import environ
import pytest
from django.utils.module_loading import import_string

from donations.services import checkout_rate


def redis_cache_or_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limiter on the Redis cache CACHE_URL names, as production runs it (the suite's own
    cache is local memory, tests/conftest.py)."""
    url = os.environ.get("CACHE_URL", "")
    if not url.startswith("rediscache://"):
        pytest.skip("no Redis cache in CACHE_URL: the PostgreSQL + Redis pass runs this")
    config = environ.Env.cache_url_config(url)
    redis_cache = import_string(config["BACKEND"])(config["LOCATION"], config)
    monkeypatch.setattr(checkout_rate, "cache", redis_cache)
    assert checkout_rate._redis() is not None
    redis_cache.delete(checkout_rate.KEY)


@pytest.fixture(params=["shared", "per_process"])
def log(request: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "shared":
        redis_cache_or_skip(monkeypatch)
    else:
        monkeypatch.setattr(checkout_rate, "_redis", lambda: None)
        checkout_rate._local.clear()
    return str(request.param)


def most_in_one_second(times: list[float]) -> int:
    return max(bisect_left(times, t + 1.0) - i for i, t in enumerate(times))


def admitted_of(arrivals: list[float], monkeypatch: pytest.MonkeyPatch) -> list[float]:
    admitted = []
    for now in arrivals:
        monkeypatch.setattr(checkout_rate, "clock", lambda now=now: now)
        if checkout_rate.checkout_wait_seconds() == 0:
            admitted.append(now)
    return admitted


def test_a_steady_flood_gets_the_rate_through_and_never_more(
    log: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.STRIPE_CHECKOUT_RATE = 20
    start = 2_100_000_000.0 + (0 if log == "shared" else 50)
    admitted = admitted_of([start + i / 100 for i in range(500)], monkeypatch)  # 100/s for 5 s

    assert most_in_one_second(admitted) == 20
    assert len(admitted) == 100  # 20 a second for 5 s: the rate, not a trickle


def test_bursts_at_a_second_s_edges_get_the_rate_through_once(
    log: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 at the end of each second and 30 at the start of the next: the old limiter let 20 + 20
    through within 20 ms."""
    settings.STRIPE_CHECKOUT_RATE = 20
    start = 2_100_001_000.0 + (0 if log == "shared" else 50)
    arrivals = sorted(
        start + second + offset + i / 3000
        for second in range(5)
        for offset in (0.99, 1.0)
        for i in range(30)
    )
    admitted = admitted_of(arrivals, monkeypatch)

    assert most_in_one_second(admitted) == 20 < 25  # Stripe's limit, with 5 to spare
    assert len(admitted) == 5 * 20  # each edge's crowd: the first 20 of it, at once


def test_a_refused_start_is_told_when_the_oldest_leaves_the_window(
    log: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.STRIPE_CHECKOUT_RATE = 2
    now = [2_200_000_000.0]
    monkeypatch.setattr(checkout_rate, "clock", lambda: now[0])
    assert checkout_rate.checkout_wait_seconds() == 0
    now[0] += 0.4
    assert [checkout_rate.checkout_wait_seconds() for _ in range(2)] == [0, 1]
    now[0] += 0.6  # the first has left: one slot
    assert [checkout_rate.checkout_wait_seconds() for _ in range(2)] == [0, 1]
    now[0] += 0.4  # the second has left too
    assert checkout_rate.checkout_wait_seconds() == 0


def test_a_clock_stepped_back_does_not_lock_donors_out(
    log: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.STRIPE_CHECKOUT_RATE = 2
    now = [2_300_000_000.0]
    monkeypatch.setattr(checkout_rate, "clock", lambda: now[0])
    assert [checkout_rate.checkout_wait_seconds() for _ in range(3)] == [0, 0, 1]
    now[0] -= 3600  # NTP stepped the clock back an hour
    assert [checkout_rate.checkout_wait_seconds() for _ in range(3)] == [0, 0, 1]


def test_threads_racing_on_redis_s_clock_share_one_log(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis's own clock (production's): eight threads take slots as fast as they can; what they
    get is bounded by the rate over the run, whichever thread asks."""
    redis_cache_or_skip(monkeypatch)
    settings.STRIPE_CHECKOUT_RATE = 20
    admitted: list[float] = []
    stop = time.monotonic() + 1.5

    def take() -> None:
        while time.monotonic() < stop:
            if checkout_rate.checkout_wait_seconds() == 0:
                admitted.append(time.monotonic())

    threads = [threading.Thread(target=take) for _ in range(8)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    # Windows of a second starting at 0, 0.5 and 1 s: at most 20 + 20 in 1.5 s.
    assert len(admitted) <= 20 * 2
    assert 20 <= len(admitted)  # the first second's 20 at least: the rate, not a trickle
    assert elapsed < 5
