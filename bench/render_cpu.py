"""CPU per uncached render of the campaign page, in this process (`python -m bench.render_cpu`).

Reads the environment `python -m bench.run --serve` wrote (bench/results/serve.env), renders the
page N times through Django's full handler with `?bench=uncached` (the page cache bypassed, as for
every change), and prints the CPU milliseconds per render and, with `--profile`, cProfile's top
functions by cumulative time (`TOP=120` for more than 45). The figure the bench's "campaign page,
uncached render" row reads from /proc is the same thing plus gunicorn's share.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from typing import Any

from bench.config import RESULTS


def main() -> int:
    env = json.loads((RESULTS / "serve.env").read_text())
    base = env.pop("BASE")
    os.environ.update(env)
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    from campaign.models import Campaign

    slug = Campaign.objects.values_list("slug", flat=True).first()
    handler = WSGIHandler()  # gunicorn's entry point, without the test client's instrumentation
    # --full: the whole page rendered in one go (what a signed-in visitor gets); by default the
    # render each change makes (the figures into the frame), as /bench/render/ serves it.
    full = "--full" in sys.argv
    environ = RequestFactory(SERVER_NAME="127.0.0.1")._base_environ(  # type: ignore[attr-defined]
        PATH_INFO=f"/campaigns/{slug}/" if full else f"/bench/render/{slug}/",
        QUERY_STRING="bench=uncached" if full else "",
        REQUEST_METHOD="GET",
    )
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)

    def get() -> None:
        b"".join(handler(dict(environ), start_response))

    n = int(os.environ.get("RENDERS", "200"))
    get()
    assert statuses[-1].startswith("200"), (base, statuses[-1])
    samples = []
    profile = cProfile.Profile() if "--profile" in sys.argv else None
    for _ in range(n):
        if profile:
            profile.enable()
        start = time.process_time()
        get()
        samples.append((time.process_time() - start) * 1000)
        if profile:
            profile.disable()
    print(f"uncached render: median {statistics.median(samples):.2f} ms CPU, "
          f"mean {statistics.mean(samples):.2f} ms over {n}")  # fmt: skip
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(int(os.environ.get("TOP", "45")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
