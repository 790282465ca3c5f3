"""The Stripe fake (testing/stripe_fake/) as its own process, for gunicorn to call.

Prints its address on the first line of stdout; stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading

from testing.stripe_fake import StripeFake


def main() -> None:
    fake = StripeFake().start()
    print(fake.url, flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    fake.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
