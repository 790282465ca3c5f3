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


def webhooks(report: Report, stack: Stack, config: Config, campaign: Any) -> None:
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
    check_totals(report, stack, campaign, "after the webhook bursts")
