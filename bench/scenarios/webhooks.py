"""Webhook ingest: bursts of signed events, accepted by gunicorn and processed by two workers."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from bench.config import RESULTS, WEBHOOK_SECRET, Config, Report, log
from bench.load import median
from bench.measure import check_totals, floor_between, floor_run, measured
from bench.stack import Stack


def webhook_events(*, campaign: Any, count: int, tag: str) -> Path:
    """Pending donations and one signed checkout.session.completed event for each."""
    from bench.seed import donations_copy
    from donations.models import Donation
    from testing.stripe_fake import API_VERSION, sign

    last = Donation.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    donations_copy(
        campaign=campaign, count=count, start=10_000_000 + last, state="pending",
        session_prefix=f"cs_{tag}",
    )  # fmt: skip
    path = RESULTS / f"events-{tag}.tsv"
    now = int(time.time())
    with path.open("w") as out:
        rows = Donation.objects.filter(pk__gt=last).values_list(
            "public_id", "amount", "checkout_session_id"
        )
        for n, (public_id, amount, session_id) in enumerate(rows.iterator(chunk_size=5000)):
            event = {
                "id": f"evt_{tag}_{n:07d}",
                "object": "event",
                "api_version": API_VERSION,
                "created": now,
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
                        "metadata": {"donation": str(public_id), "campaign": campaign.slug},
                    }
                },
            }
            payload = json.dumps(event, separators=(",", ":"))
            out.write(f"{sign(payload.encode(), WEBHOOK_SECRET)}\t{payload}\n")
    return path


def webhooks(report: Report, stack: Stack, config: Config, campaign: Any) -> float:
    """Bursts of signed events as fast as 16 senders go; returns the median rate at which the
    two workers processed the backlog (events/s): their ceiling."""
    from django.db.models import Max, Min

    from donations.models import StripeEvent

    accepted_ratios: list[float] = []
    accepted_rates: list[float] = []
    processed_rates: list[float] = []
    floor_rates: list[float] = []
    cpu_ratios: list[float] = []
    for n in range(config.runs):
        floor_before = floor_run(stack, config)
        # Enough events that no sender runs out before the end: at most the floor's rate.
        count = int(floor_before.rps * config.seconds * 1.2) + 100
        tag = f"wh{n + 1}"
        events = webhook_events(campaign=campaign, count=count, tag=tag)
        run = measured(
            stack,
            stack.base + "/stripe/webhook/",
            config.seconds,
            script="webhook.lua",
            env={"BENCH_EVENTS": str(events)},
        )
        floor = floor_between(floor_before, floor_run(stack, config))
        mine = StripeEvent.objects.filter(stripe_id__startswith=f"evt_{tag}_")
        stored = mine.count()
        accepted = stored / run.seconds
        deadline = time.monotonic() + max(120, stored / 20)
        while mine.exclude(status="processed").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        left = mine.exclude(status="processed").count()
        span = mine.aggregate(first=Min("received_at"), last=Max("processed_at"))
        processed_seconds = (span["last"] - span["first"]).total_seconds() if span["last"] else 0
        processed = (stored - left) / processed_seconds if processed_seconds else 0.0
        accepted_rates.append(accepted)
        processed_rates.append(processed)
        floor_rates.append(floor.rps)
        accepted_ratios.append(accepted / floor.rps if floor.rps else 0)
        cpu_ratios.append(floor.cpu_ms / run.cpu_ms if run.cpu_ms else 0)
        duplicates = max(0, run.requests - stored)
        log(
            f"webhooks round {n + 1}: {stored} events accepted in {run.seconds:.1f} s = "
            f"{accepted:.0f}/s (floor {floor.rps:.0f} rps), processed {processed:.0f}/s, "
            f"{left} left unprocessed, {duplicates} repeated deliveries, CPU {run.cpu_ms:.2f} "
            f"ms/req (floor {floor.cpu_ms:.2f}), errors {run.status_errors + run.socket_errors}"
        )
        if left:
            report.check(f"webhook round {n + 1} all processed", False, f"{left} not processed")
        os.unlink(events)
    ratio = median(accepted_ratios)
    report.rows.append(
        {
            "section": "load",
            "name": "webhook ingest (16 senders, 2 Celery workers)",
            "value": f"accepted {median(accepted_rates):.0f} events/s = {ratio:.2f} × floor "
            f"({median(floor_rates):.0f} rps), {median(cpu_ratios):.2f} × floor by server CPU per "
            f"request; processed {median(processed_rates):.0f} events/s by 2 workers",
        }
    )
    report.check(
        "webhook accepted ≥ 0.5 × floor",
        ratio >= 0.5,
        f"{median(accepted_rates):.0f} events/s = {ratio:.2f} × floor; by CPU per request "
        f"{median(cpu_ratios):.2f} × floor",
    )
    time.sleep(1.0)  # every process reads the new generation (it trusts one for half a second)
    check_totals(report, stack, campaign, "after the webhook bursts")
    return median(processed_rates)


SUSTAINED_RATE = 50  # events a second


def webhooks_sustained(
    report: Report, stack: Stack, config: Config, campaign: Any, ceiling: float
) -> None:
    """50 signed events a second for 60 s (20 s in a quick run), as Stripe delivers a rush, with
    two workers: every event's delay from receipt (the durable insert) to applied (processed_at),
    and the workers' CPU per event, which bounds what one worker can process."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from bench import procs
    from donations.models import StripeEvent

    seconds = 60 if config.scale >= 1 else 20
    count = SUSTAINED_RATE * seconds
    events = webhook_events(campaign=campaign, count=count, tag="sus")
    lines = [line.rstrip("\n").split("\t", 1) for line in events.open()]
    failures: list[int] = []

    def send(signature: str, payload: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - local address
            stack.base + "/stripe/webhook/",
            data=payload.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
        except Exception:  # noqa: BLE001 - counted and reported
            failures.append(1)

    worker_pids = [w.pid for w in stack.workers]
    cpu_before = procs.cpu_seconds(worker_pids)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for i, (signature, payload) in enumerate(lines):
            time.sleep(max(0.0, started + i / SUSTAINED_RATE - time.monotonic()))
            pool.submit(send, signature, payload)
    sent_seconds = time.monotonic() - started
    mine = StripeEvent.objects.filter(stripe_id__startswith="evt_sus_")
    deadline = time.monotonic() + 120
    while mine.exclude(status="processed").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    cpu = procs.cpu_seconds(worker_pids) - cpu_before
    os.unlink(events)
    rows = list(mine.filter(status="processed").values_list("received_at", "processed_at"))
    delays = sorted((done - got).total_seconds() for got, done in rows if done and got)
    left = count - len(rows)
    p50 = delays[len(delays) // 2] if delays else 0.0
    p99 = delays[int(len(delays) * 0.99)] if delays else 0.0
    worst = delays[-1] if delays else 0.0
    cpu_ms = cpu * 1000 / max(1, len(rows))
    per_worker = ceiling / max(1, len(worker_pids))
    cpu_bound = 1000 / cpu_ms if cpu_ms else 0.0
    limit = (
        "its CPU (Python: the event's parsing, the donation's row locks and counters, Celery)"
        if per_worker >= 0.7 * cpu_bound
        else "waiting: for PostgreSQL and Redis, or for a CPU on a machine this busy (the run "
        "queue)"
    )
    log(
        f"sustained webhooks: {len(rows)}/{count} processed at {SUSTAINED_RATE}/s over "
        f"{sent_seconds:.0f} s; receipt→applied p50 {p50:.2f} s, p99 {p99:.2f} s, max "
        f"{worst:.2f} s; worker CPU {cpu_ms:.1f} ms/event; {len(failures)} send failures"
    )
    report.rows.append(
        {
            "section": "webhooks",
            "name": f"sustained: {SUSTAINED_RATE} events/s for {seconds} s, 2 Celery workers",
            "value": f"{len(rows):,} of {count:,} applied; receipt → applied p50 {p50:.2f} s, "
            f"p99 {p99:.2f} s, max {worst:.2f} s; worker CPU {cpu_ms:.1f} ms per event "
            f"(≤ {cpu_bound:.0f} events/s per worker by CPU); measured ceiling "
            f"{per_worker:.0f} events/s per worker (the bursts' backlog drained by 2 workers: "
            f"{ceiling:.0f}/s), limited by {limit}",
        }
    )
    report.check(
        f"sustained webhooks: p99 receipt→applied ≤ 2 s at {SUSTAINED_RATE}/s",
        p99 <= 2.0 and left == 0 and not failures,
        f"p99 {p99:.2f} s (max {worst:.2f} s) over {len(rows):,} events, {left} not applied, "
        f"{len(failures)} deliveries failed",
    )
