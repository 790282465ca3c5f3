"""Update fan-out: one update emailed to every subscriber, each once, in bounded memory."""

from __future__ import annotations

import time
from typing import Any

from bench.config import Config, Report
from bench.measure import RssSampler
from bench.stack import Stack


def fanout(report: Report, stack: Stack, config: Config, campaign: Any) -> None:
    from django.utils import timezone

    from bench.seed import subscribers_copy
    from campaign import services as campaign_services
    from campaign.models import DeliveryStatus, Update, UpdateDelivery

    subscribers_copy(campaign=campaign, count=config.subscribers)
    stack.sink_file.write_text("")
    pids = [w.pid for w in stack.workers]
    sampler = RssSampler(pids)
    sampler.start()
    started = time.perf_counter()
    update = Update(
        campaign=campaign,
        slug="bench-fanout",
        title="The lawyer filed our answer",
        body="Our lawyer filed the answer today. **Thank you** for making it possible.",
        is_published=True,
        published_at=timezone.now(),
    )
    campaign_services.update_save(update=update, content_changed=True)
    deliveries = UpdateDelivery.objects.filter(update=update)
    # Stop waiting in time to write the report: a cut-short fan-out is reported as not met.
    deadline = time.monotonic() + max(30.0, report.time_left() - 45)
    while time.monotonic() < deadline:
        time.sleep(1)
        total = deliveries.count()
        waiting = deliveries.filter(
            status__in=(DeliveryStatus.PENDING, DeliveryStatus.SENDING)
        ).count()
        if total >= config.subscribers and not waiting:
            break
    seconds = time.perf_counter() - started
    sampler.stop()
    peak = max(sampler.peak.values())
    sent = deliveries.filter(status=DeliveryStatus.SENT).count()
    received = [line for line in stack.sink_file.read_text().splitlines() if line]
    unique = len(set(received))
    report.rows.append(
        {
            "section": "email",
            "name": f"update fan-out to {config.subscribers:,} subscribers",
            "value": f"{sent:,} sent in {seconds:.0f} s = {sent / seconds:.0f} emails/s; "
            f"{len(received):,} received by the SMTP sink, {unique:,} distinct; "
            f"peak worker RSS {peak:.0f} MB",
        }
    )
    report.check(
        "fan-out: all sent, each once, worker < 200 MB",
        sent == config.subscribers == len(received) == unique and peak < 200,
        f"{sent:,}/{config.subscribers:,} sent, {len(received):,} received "
        f"({unique:,} distinct), peak worker RSS {peak:.0f} MB",
    )
