"""Measurements: wrk runs next to floor runs, CPU per request, memory sampling, and the check
that the totals shown are exact."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace
from typing import Any

from bench import procs
from bench.config import CONNECTIONS, Config, Report, log
from bench.load import Run, median, wrk
from bench.stack import Stack


@dataclass
class Series:
    """The same endpoint measured `runs` times, each next to a floor run."""

    name: str
    runs: list[Run] = field(default_factory=list)
    floors: list[Run] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return median([r.rps for r in self.runs])

    @property
    def floor_rps(self) -> float:
        return median([f.rps for f in self.floors])

    @property
    def ratio(self) -> float:
        return median([r.rps / f.rps for r, f in zip(self.runs, self.floors, strict=True) if f.rps])

    @property
    def cpu_ms(self) -> float:
        return median([r.cpu_ms for r in self.runs])

    @property
    def cpu_ratio(self) -> float:
        """Throughput the CPU cost alone predicts: floor's CPU per request ÷ this one's."""
        pairs = zip(self.runs, self.floors, strict=True)
        return median([f.cpu_ms / r.cpu_ms for r, f in pairs if r.cpu_ms])

    @property
    def p99(self) -> float:
        return median([r.p99_ms for r in self.runs])

    @property
    def floor_p99(self) -> float:
        return median([f.p99_ms for f in self.floors])

    @property
    def p50(self) -> float:
        return median([r.p50_ms for r in self.runs])

    @property
    def errors(self) -> int:
        return sum(r.status_errors + r.socket_errors for r in self.runs)


def measure_rounds(
    stack: Stack, config: Config, targets: dict[str, str], *, label: str
) -> dict[str, Series]:
    """`runs` rounds, each measuring the floor then every target, so ratios share conditions."""
    series = {name: Series(name) for name in targets}
    for n in range(config.runs):
        before = floor_run(stack, config)
        for name, path in targets.items():
            http_get(stack.base + path)  # warm-up: the first render after a change is not the load
            run = measured(stack, stack.base + path, config.seconds)
            after = floor_run(stack, config)
            floor = floor_between(before, after)
            before = after
            series[name].runs.append(run)
            series[name].floors.append(floor)
            log(
                f"{label} round {n + 1}: {name} {run.rps:.0f} rps (floor {floor.rps:.0f}), "
                f"p99 {run.p99_ms:.1f} ms (floor {floor.p99_ms:.1f}), CPU {run.cpu_ms:.2f} ms/req "
                f"(floor {floor.cpu_ms:.2f}), errors {run.status_errors + run.socket_errors}"
            )
    return series


def measured(stack: Stack, url: str, seconds: float, **kwargs: Any) -> Run:
    """A wrk run, with the CPU the gunicorn workers spent per request.

    On a shared machine throughput moves with the neighbours' load; CPU per request much less, so
    the report shows both.
    """
    assert stack.gunicorn is not None
    before = procs.workers_cpu_seconds(stack.gunicorn.pid)
    run = wrk(url, seconds=seconds, connections=CONNECTIONS, **kwargs)
    spent = procs.workers_cpu_seconds(stack.gunicorn.pid) - before
    return replace(run, cpu_ms=spent * 1000 / run.requests if run.requests else 0.0)


def floor_run(stack: Stack, config: Config) -> Run:
    # Shorter than the measured runs: it is taken twice as often, and its rate is steady.
    return measured(stack, stack.base + "/bench/floor/", max(2.0, round(config.seconds * 0.6)))


def floor_between(before: Run, after: Run) -> Run:
    """The floor around a measurement: the mean of the runs just before and just after it, so a
    neighbour's load on this shared machine weighs on both sides of the ratio alike."""
    return Run(
        requests=(before.requests + after.requests) // 2,
        seconds=(before.seconds + after.seconds) / 2,
        p50_ms=(before.p50_ms + after.p50_ms) / 2,
        p99_ms=(before.p99_ms + after.p99_ms) / 2,
        status_errors=0,
        socket_errors=0,
        cpu_ms=(before.cpu_ms + after.cpu_ms) / 2,
    )


def url_of(name: str, *args: str, **kwargs: str) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=args or None, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def public_targets(slug: str) -> dict[str, str]:
    targets: dict[str, str] = {
        "campaign page": url_of("campaign:detail", slug=slug) or f"/campaigns/{slug}/",
        "totals.json": url_of("campaign:totals_json", slug=slug)
        or f"/campaigns/{slug}/totals.json",
    }
    optional = {
        "badge.svg": "campaign:badge_svg",
        "badge.png": "campaign:badge_png",
        "donor wall": "campaign:supporters",
    }
    for label, name in optional.items():
        path = url_of(name, slug=slug)
        if path:
            targets[label] = path
    # What each change costs every process: the figures rendered into the frame (rendered once
    # per edit), as the page cache does after a counted gift (bench/views.py).
    targets["campaign page, render per change"] = f"/bench/render/{slug}/"
    # Informative: a query string bypasses the page cache, so this is the whole page rendered in
    # one go each time (what a signed-in visitor gets).
    targets["campaign page, uncached render"] = targets["campaign page"] + "?bench=uncached"
    return targets


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - local address
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def totals_shown(stack: Stack, slug: str) -> dict[str, Any]:
    status, body, _ = http_get(stack.base + f"/campaigns/{slug}/totals.json")
    if status != 200:
        raise RuntimeError(f"totals.json answered {status}")
    return dict(json.loads(body))


def check_totals(report: Report, stack: Stack, campaign: Any, when: str) -> None:
    from decimal import Decimal

    from bench.seed import true_sums

    shown = totals_shown(stack, campaign.slug)
    truth = true_sums(campaign=campaign)
    ok = (
        Decimal(shown["raised"]) == truth["raised"]
        and shown.get("donation_count", truth["donation_count"]) == truth["donation_count"]
    )
    report.check(
        f"totals exact {when}",
        ok,
        f"totals.json raised ${shown['raised']} / {shown.get('donation_count')} gifts; "
        f"SUM over donations ${truth['raised']} / {truth['donation_count']} gifts",
    )


class RssSampler(threading.Thread):
    """Peak resident memory of a set of processes, sampled every 50 ms."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.baseline = {pid: procs.rss_mb(pid) for pid in pids}
        self.peak = dict(self.baseline)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], procs.rss_mb(pid))
            time.sleep(0.05)

    def stop(self) -> None:
        self.stopped.set()
        self.join()

    def busiest(self) -> tuple[float, float]:
        """(baseline, peak) of the process whose memory grew most."""
        pid = max(self.pids, key=lambda p: self.peak[p] - self.baseline[p])
        return self.baseline[pid], self.peak[pid]
