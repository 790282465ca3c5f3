"""The Stripe fake (testing/stripe_fake/) as its own process, for gunicorn to call.

Like Stripe, it answers 429 to the requests beyond `BENCH_STRIPE_RATE` (25) a second on one
endpoint (method and path), over a sliding second: Stripe's default per-endpoint limit, per
account (the bench's usual key). Each
refusal is counted and logged to stdout as `429 <method> <path>` so the harness can report them.

Prints its address on the first line of stdout; stops on SIGTERM.
"""

from __future__ import annotations

import collections
import os
import signal
import sys
import threading
import time
from typing import Any

from testing.stripe_fake import API_VERSION, StripeFake
from testing.stripe_fake.wire import error

# The account whose requests are limited: the key bench/stack.py gives gunicorn. The stages that
# measure the server's own capacity use another key (bench.stack.LIMITS_LIFTED).
LIMITED = "Bearer sk_test_bench"


class RateLimitedFake(StripeFake):
    def __init__(self, rate: int) -> None:
        super().__init__()
        self.rate = rate
        self.recent: dict[tuple[str, str], collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self.refused = 0

    def handle(
        self, method: str, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if headers.get("authorization") != LIMITED:
            return super().handle(method, path, params, headers)  # another account: no limit
        now = time.monotonic()
        with self.lock:
            seen = self.recent[(method, path)]
            while seen and seen[0] <= now - 1.0:
                seen.popleft()
            if len(seen) >= self.rate:
                self.refused += 1
                print(f"429 {method} {path}", flush=True)
                body = error(
                    "invalid_request_error",
                    "Request rate limit exceeded. Learn more about rate limits here "
                    "https://stripe.com/docs/rate-limits.",
                    code="rate_limit",
                )
                return 429, body, {"Stripe-Version": headers.get("stripe-version") or API_VERSION}
            seen.append(now)
            # The fake keeps every request for tests to inspect; a long run needs no history.
            if len(self.requests) > 1000:
                del self.requests[:-100]
        return super().handle(method, path, params, headers)


def main() -> None:
    fake = RateLimitedFake(int(os.environ.get("BENCH_STRIPE_RATE", "25"))).start()
    print(fake.url, flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    fake.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
