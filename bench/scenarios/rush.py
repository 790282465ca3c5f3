"""The rush, mixed: visitors load the campaign page while donations start and are counted.

wrk loads the campaign page; at the same time a driver starts donations at `RUSH_RATE` a second
through the form (each against the Stripe fake, which answers 429 beyond 25 a second on an
endpoint, as Stripe does), then delivers each one's signed `checkout.session.completed` webhook;
two Celery workers count them. A watcher reads the campaign page as a visitor every
`POLL_SECONDS` and notes the total it shows.

The floor is measured in the same round under the same rush: each round's rush runs through
short floor and page runs in turn (A B A B A B A B A, 2 s each), so the ratio says what the page
costs while gifts are counted (the issue's concern: a change made every process render the page
again), not how much of two CPUs the gifts themselves leave; the turns are short because the
rush's own load comes in waves (the starts retried after a 429, the workers' backlog), which
one long run of each would catch on one side only. The page against a quiet floor (runs before
and after the rush) is reported beside it.

Reported: the campaign page's throughput during the rush as a ratio to the floor; for every gift,
the delay from its webhook's 200 to the first page showing a total that includes it (gifts are
taken in the order of their 200s: the total shown must reach the sum of every gift acknowledged
up to that one); the starts refused by our Checkout rate limit (429 to the donor, tried again after
its Retry-After and up to a second more, as a donor would) and by the fake (Stripe's 429, which
must stay at 0); and the totals checked exactly at the end.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bench import procs
from bench.config import CONNECTIONS, RESULTS, WEBHOOK_SECRET, Config, Report, log
from bench.load import Run, median
from bench.measure import check_totals, floor_between, floor_run, http_get, measured
from bench.scenarios.donations import csrf_for
from bench.stack import Stack

RUSH_RATE = 20  # donations started a second
TURNS = 9  # floor, page, floor, … floor: 5 floor runs and 4 of the page in each round
SEGMENT_SECONDS = 2.0
POLL_SECONDS = 0.05
RAISED = re.compile(rb'data-field="raised">([^<]+)<')


def _amount(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.]", "", text.replace("\u00a0", "")))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(NoRedirect)


def _post(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=30) as response:
            response.read()
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        error.read()
        return error.code, error.headers


@dataclass
class Round:
    acked: list[tuple[float, Decimal]] = field(default_factory=list)  # (time of the 200, amount)
    shown: list[tuple[float, Decimal]] = field(default_factory=list)  # (time, total on the page)
    busy: int = 0  # starts refused by our rate limit (429 to the donor)
    failed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _give(stack: Stack, slug: str, n: int, tag: str, cookie: str, token: str, rnd: Round) -> None:
    from donations.models import Donation
    from testing.stripe_fake import API_VERSION, sign

    amount = Decimal(10 + n % 41)
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "amount": f"{amount:.2f}",
            "display_name": f"Rush {tag} {n}",
            "email": f"rush-{tag}-{n}@example.test",
            "show_amount": "on",
        }
    ).encode()
    headers = {"Cookie": f"csrftoken={cookie}", "Content-Type": "application/x-www-form-urlencoded"}
    for _attempt in range(10):
        status, answer = _post(stack.base + f"/campaigns/{slug}/donate/", form, headers)
        if status != 429:
            break
        with rnd.lock:
            rnd.busy += 1
        # As the page asks the donor, who clicks "Try again" some time within the next second
        # (donors told "1 second" together do not all click at the same millisecond).
        time.sleep(float(answer.get("Retry-After") or 1) + random.random())  # noqa: S311
    location = answer.get("Location") or ""
    if status != 303 or "/c/pay/" not in location:
        rnd.failed.append(f"start {n}: HTTP {status}")
        return
    session_id = location.rsplit("/", 1)[-1]
    public_id = Donation.objects.filter(checkout_session_id=session_id).values_list(
        "public_id", flat=True
    )[0]
    event = {
        "id": f"evt_{tag}_{n:06d}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "amount_total": int(amount * 100),
                "currency": "cad",
                "client_reference_id": str(public_id),
                "metadata": {"donation": str(public_id), "campaign": slug},
            }
        },
    }
    payload = json.dumps(event, separators=(",", ":")).encode()
    status, _ = _post(
        stack.base + "/stripe/webhook/",
        payload,
        {"Content-Type": "application/json", "Stripe-Signature": sign(payload, WEBHOOK_SECRET)},
    )
    if status != 200:
        rnd.failed.append(f"webhook {n}: HTTP {status}")
        return
    with rnd.lock:
        rnd.acked.append((time.monotonic(), amount))


def _watch(stack: Stack, slug: str, rnd: Round, stop: threading.Event) -> None:
    while not stop.is_set():
        _, body, _ = http_get(stack.base + f"/campaigns/{slug}/")
        found = RAISED.search(body)
        if found:
            rnd.shown.append((time.monotonic(), _amount(found.group(1).decode())))
        time.sleep(POLL_SECONDS)


def visibility_delays(rnd: Round, baseline: Decimal) -> list[float]:
    """For each gift, in the order of its 200: seconds until the page showed a total including
    every gift acknowledged up to it."""
    delays, expected, i = [], baseline, 0
    shown = rnd.shown
    for acked_at, amount in sorted(rnd.acked):
        expected += amount
        # Both only grow (the gifts by their 200s, the page's total), so one pass finds each.
        while i < len(shown) and (shown[i][0] < acked_at or shown[i][1] < expected):
            i += 1
        delays.append(shown[i][0] - acked_at if i < len(shown) else float("inf"))
    return delays


def joined(runs: list[Run]) -> Run:
    """Runs of one URL taken in turns, as one: their requests over their seconds; the median of
    their percentiles."""
    requests = sum(r.requests for r in runs)
    return Run(
        requests=requests,
        seconds=sum(r.seconds for r in runs),
        p50_ms=median([r.p50_ms for r in runs]),
        p99_ms=median([r.p99_ms for r in runs]),
        status_errors=sum(r.status_errors for r in runs),
        socket_errors=sum(r.socket_errors for r in runs),
        cpu_ms=sum(r.cpu_ms * r.requests for r in runs) / requests if requests else 0.0,
    )


def rush(report: Report, stack: Stack, config: Config, campaign: Any) -> None:
    from bench.seed import true_sums

    # Each wrk run lasts `segment`; the rush lasts a warm-up second and TURNS of them, the floor
    # and the page in turn, starting and ending with the floor, all under the same gifts.
    segment = SEGMENT_SECONDS
    seconds = 1.0 + TURNS * segment
    cookie, token = csrf_for(stack, campaign.slug)
    ratios, quiet_ratios, rps, p99s, floor_p99s = [], [], [], [], []
    busy, refused_by_stripe = 0, 0
    delays: list[float] = []
    fake_log = RESULTS / "stripe-fake.log"
    worker_pids = [w.pid for w in stack.workers]
    assert stack.gunicorn is not None
    cpu = {"gunicorn": 0.0, "workers": 0.0, "driver": 0.0}
    page_requests, floor_cpu = 0, 0.0
    for n in range(config.runs):
        quiet_before = floor_run(stack, config)
        baseline = true_sums(campaign=campaign)["raised"]
        stripe_429_before = fake_log.read_text().count("\n429 ")
        rnd = Round()
        stop = threading.Event()
        watcher = threading.Thread(target=_watch, args=(stack, campaign.slug, rnd, stop))
        watcher.start()
        count = int(seconds * RUSH_RATE)
        tag = f"r{n + 1}"

        def drive(tag: str = tag, rnd: Round = rnd, count: int = count) -> None:
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=12) as pool:
                for i in range(count):
                    time.sleep(max(0.0, started + i / RUSH_RATE - time.monotonic()))
                    pool.submit(_give, stack, campaign.slug, i, tag, cookie, token, rnd)

        driver = threading.Thread(target=drive)
        gunicorn_before = procs.workers_cpu_seconds(stack.gunicorn.pid)
        workers_before = procs.cpu_seconds(worker_pids)
        driver_before = time.process_time()
        driver.start()
        time.sleep(1.0)  # the driver at its pace before anything is measured
        floors: list[Run] = []
        pages: list[Run] = []
        for turn in range(TURNS):
            path = "/bench/floor/" if turn % 2 == 0 else f"/campaigns/{campaign.slug}/"
            (floors if turn % 2 == 0 else pages).append(measured(stack, stack.base + path, segment))
        driver.join()
        floor, run = joined(floors), joined(pages)
        # Until the page shows every gift acknowledged (the workers may still be catching up).
        expected = baseline + sum(amount for _, amount in rnd.acked)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (rnd.shown and rnd.shown[-1][1] >= expected):
            time.sleep(0.2)
        stop.set()
        watcher.join()
        cpu["gunicorn"] += procs.workers_cpu_seconds(stack.gunicorn.pid) - gunicorn_before
        cpu["workers"] += procs.cpu_seconds(worker_pids) - workers_before
        cpu["driver"] += time.process_time() - driver_before
        page_requests += run.requests + len(rnd.shown)
        quiet = floor_between(quiet_before, floor_run(stack, config))
        # The floor's own CPU while it was measured under the rush, at its quiet cost per request.
        floor_cpu += sum(f.requests for f in floors) * quiet.cpu_ms / 1000
        round_delays = visibility_delays(rnd, baseline)
        delays += round_delays
        busy += rnd.busy
        refused_by_stripe += fake_log.read_text().count("\n429 ") - stripe_429_before
        ratios.append(run.rps / floor.rps if floor.rps else 0)
        quiet_ratios.append(run.rps / quiet.rps if quiet.rps else 0)
        rps.append(run.rps)
        p99s.append(run.p99_ms)
        floor_p99s.append(floor.p99_ms)  # under the same rush
        worst = max(round_delays, default=0)
        log(
            f"rush round {n + 1}: page {run.rps:.0f} rps = {ratios[-1]:.2f} × the floor under "
            f"the same rush ({floor.rps:.0f}), {quiet_ratios[-1]:.2f} × the quiet floor "
            f"({quiet.rps:.0f}), p99 {run.p99_ms:.0f} ms; {len(rnd.acked)}/{count} gifts counted, "
            f"{rnd.busy} asked to retry, worst visibility {worst:.2f} s, "
            f"{len(rnd.failed)} failures {rnd.failed[:3]}"
        )
        if rnd.failed:
            report.notes.append(f"Rush round {n + 1}: {len(rnd.failed)} failures: {rnd.failed[:5]}")
    delays.sort()
    p50 = delays[len(delays) // 2] if delays else 0.0
    p99 = delays[int(len(delays) * 0.99)] if delays else 0.0
    worst = delays[-1] if delays else 0.0
    ratio = median(ratios)
    gifts = max(1, len(delays))
    # What the gifts cost the machine, beside the page: the site's share is gunicorn's CPU less the
    # page's (its CPU per request measured alone, in the load section, times the page requests).
    page_cpu = report.measured.get("page_cpu_seconds", 0.0)
    per_gift = {
        "web (start + webhook)": (cpu["gunicorn"] - page_cpu * page_requests - floor_cpu)
        / gifts
        * 1000,
        "2 Celery workers (event, receipt, fee)": cpu["workers"] / gifts * 1000,
        "the bench's driver and watcher": cpu["driver"] / gifts * 1000,
    }
    report.rows.append(
        {
            "section": "rush",
            "name": "CPU per counted gift during the rush",
            "value": "; ".join(f"{k} {v:.0f} ms" for k, v in per_gift.items())
            + f" (× {RUSH_RATE}/s: {sum(per_gift.values()) * RUSH_RATE / 1000:.2f} CPU of "
            f"{os.cpu_count()}, not counting PostgreSQL and the Stripe fake)",
        }
    )
    report.rows.append(
        {
            "section": "rush",
            "name": f"campaign page while {RUSH_RATE} donations/s start and are counted "
            f"({CONNECTIONS} wrk connections, 2 Celery workers)",
            "value": f"{median(rps):,.0f} rps = {ratio:.2f} × the floor under the same rush "
            f"({median(quiet_ratios):.2f} × the floor with no rush: the gifts take the rest of "
            f"the machine); p99 {median(p99s):.0f} ms (floor's {median(floor_p99s):.0f} ms); "
            f"{len(delays)} gifts counted, delay from "
            f"webhook 200 to the page showing it: p50 {p50:.2f} s, p99 {p99:.2f} s, max "
            f"{worst:.2f} s; {busy} starts asked to retry by the site's Checkout limit "
            f"({busy / max(1, len(delays)):.1%}), {refused_by_stripe} refused by Stripe (fake)",
        }
    )
    report.check(
        "campaign page ≥ 0.7 × floor during the rush",
        ratio >= 0.7,
        f"{ratio:.2f} × the floor measured under the same rush ({median(rps):,.0f} rps) while "
        f"{RUSH_RATE} gifts/s are counted; {median(quiet_ratios):.2f} × the floor with no rush",
    )
    report.check(
        "every gift on the page within 2 s of its webhook's 200",
        worst <= 2.0 and len(delays) > 0,
        f"p50 {p50:.2f} s, p99 {p99:.2f} s, max {worst:.2f} s over {len(delays)} gifts",
    )
    report.check(
        "no Checkout Session refused by Stripe's rate limit",
        refused_by_stripe == 0,
        f"{refused_by_stripe} 429s from the fake; the site's own limit asked {busy} starts to "
        "retry",
    )
    time.sleep(1.0)  # every process reads the new generation (it trusts one for half a second)
    check_totals(report, stack, campaign, "after the rush")
