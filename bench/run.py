"""`make bench`: the site under load on this machine, every throughput as a ratio to the floor.

Runs gunicorn with the production settings (DEBUG off) against a dedicated PostgreSQL database
(created and dropped here), Redis for the cache and the broker, the test suite's Stripe fake as its
own process and an aiosmtpd sink; drives load with wrk; writes docs/benchmarks.md (a full run) or
bench/results/benchmarks-scale-<s>.md (a quick run, BENCH_SCALE < 1).

Knobs (environment): BENCH_QUICK=1 (a quick run: BENCH_SCALE=0.01), BENCH_SCALE (1 = a million
donations), BENCH_SECONDS (per wrk run), BENCH_RUNS (3: the median is reported), BENCH_WORKERS and
BENCH_THREADS (gunicorn's WEB_CONCURRENCY and GUNICORN_THREADS; unset, gunicorn.conf.py's defaults,
as in production: figures with either set are labelled as another configuration),
BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_REDIS_CACHE_DB and BENCH_REDIS_BROKER_DB (13 and 12),
BENCH_KEEP_DB=1 to keep the database.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from bench import procs
from bench.config import RESULTS, ROOT, Config, Report, log
from bench.measure import check_totals, measure_rounds, public_targets
from bench.report import series_row, versions_read, write_report
from bench.scenarios.admin_pages import admin_cookie, admin_paths, csv_export, time_page
from bench.scenarios.donations import compare_worker_models, donation_start
from bench.scenarios.fanout import fanout
from bench.scenarios.rush import rush
from bench.scenarios.webhooks import webhooks, webhooks_sustained
from bench.stack import (
    Stack,
    celery_start,
    database_recreate,
    django_setup,
    gunicorn_start,
    stack_start,
)


def watchdog(seconds: float) -> None:
    """Bound the run: stop everything we started if it runs away."""

    def expire() -> None:
        log(f"time limit of {seconds / 60:.0f} minutes reached: stopping")
        procs.stop_all()
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def serve() -> int:
    """`python -m bench.run --serve`: the benchmark's stack with a small campaign, for profiling."""
    config = Config.from_env()
    watchdog(15 * 60)
    stack = stack_start(config)
    django_setup(stack.env)
    from bench.seed import counters_rebuild, donations_copy
    from campaign.services import campaign_seed_demo

    campaign, _ = campaign_seed_demo()
    donations_copy(campaign=campaign, count=config.small)
    counters_rebuild(campaign=campaign)
    gunicorn_start(stack, config)
    celery_start(stack, 2)
    log(f"serving {stack.base}/campaigns/{campaign.slug}/ (Ctrl-C or SIGTERM stops everything)")
    (RESULTS / "serve.env").write_text(json.dumps({**stack.env, "BASE": stack.base}))
    try:
        while True:
            time.sleep(1)
    finally:
        procs.stop_all()


def main() -> int:
    if "--serve" in sys.argv:
        return serve()
    config = Config.from_env()
    report = Report(config)
    watchdog(report.budget + 120)
    log(
        f"scale {config.scale}: {config.donations:,} donations, {config.runs} × "
        f"{config.seconds:.0f} s runs, {config.server_label}"
    )
    stack = stack_start(config)
    try:
        django_setup(stack.env)
        run_all(report, stack, config)
    finally:
        procs.stop_all()
        if not config.keep_db:
            from django.db import connections

            connections.close_all()
            database_recreate(config.database_url, drop_only=True)
    path = write_report(report)
    failed = [name for name, ok, _ in report.checks if not ok]
    log(f"wrote {path.relative_to(ROOT)}; {len(failed)} check(s) not met: {failed}")
    return 0


def run_all(report: Report, stack: Stack, config: Config) -> None:
    from bench.seed import counters_rebuild, donations_copy, timed
    from campaign.services import campaign_seed_demo

    versions_read(config)
    campaign, _ = campaign_seed_demo()
    cookie = admin_cookie()
    paths = admin_paths(campaign)

    # Small scale.
    timed("seed 1,000", lambda: donations_copy(campaign=campaign, count=config.small), log)
    counters_rebuild(campaign=campaign)
    compare_worker_models(report, stack, config, campaign)
    gunicorn_start(stack, config)
    targets = public_targets(campaign.slug)
    small = measure_rounds(stack, config, targets, label="1k")
    dash_small = None
    if paths["dashboard"]:
        dash_small, status = time_page(stack.base + paths["dashboard"], cookie, 10)
        log(f"dashboard at 1k: {dash_small * 1000:.1f} ms (HTTP {status})")

    # Large scale: the same campaign grown to a million.
    extra = config.donations - config.small
    _, seconds = timed(
        f"seed {extra:,}",
        lambda: donations_copy(campaign=campaign, count=extra, start=config.small),
        log,
    )
    report.timings[f"COPY {extra:,} donations"] = seconds
    _, seconds = timed("rebuild counters", lambda: counters_rebuild(campaign=campaign), log)
    report.timings["counters and rollups rebuilt by one aggregate each"] = seconds
    from front import cache as page_cache

    page_cache.pages_invalidate()  # the seeding wrote behind the application's back
    check_totals(report, stack, campaign, "after seeding")
    large = measure_rounds(stack, config, targets, label=f"{config.donations // 1000}k")

    scale_label = f"{config.donations:,}"
    for name in targets:
        s_small, s_large = small[name], large[name]
        s_large.name = f"{name} at {scale_label}"
        report.rows.append(series_row("load", s_large))
        s_small.name = f"{name} at {config.small:,}"
        report.rows.append(series_row("load", s_small))
        ratio = s_large.ratio / s_small.ratio if s_small.ratio else 0
        cpu = s_small.cpu_ms / s_large.cpu_ms if s_large.cpu_ms else 0
        informative = "render" in name
        if not informative:
            report.check(
                f"{name} scale-free (≥ 0.9)",
                ratio >= 0.9 and s_large.errors == 0,
                f"{ratio:.2f}: {s_large.ratio:.2f} × floor at {scale_label} vs "
                f"{s_small.ratio:.2f} × floor at {config.small:,}; by CPU per request {cpu:.2f}",
            )
    page = large["campaign page"]
    report.measured["page_cpu_seconds"] = page.cpu_ms / 1000
    report.check(
        "campaign page ≥ 0.9 × floor at 1M",
        page.ratio >= 0.9 and page.errors == 0,
        f"{page.rps:,.0f} rps = {page.ratio:.2f} × floor ({page.floor_rps:,.0f} rps); "
        f"by CPU per request {page.cpu_ratio:.2f} × floor",
    )
    report.check(
        "campaign page p99 ≤ 1.5 × floor's",
        page.p99 <= 1.5 * page.floor_p99,
        f"{page.p99:.1f} ms vs floor {page.floor_p99:.1f} ms ({page.p99 / page.floor_p99:.2f} ×)",
    )
    totals = large["totals.json"]
    report.check(
        "totals.json ≥ 1.0 × floor at 1M",
        totals.ratio >= 1.0 and totals.errors == 0,
        f"{totals.rps:,.0f} rps = {totals.ratio:.2f} × floor ({totals.floor_rps:,.0f} rps); "
        f"by CPU per request {totals.cpu_ratio:.2f} × floor",
    )
    render = large["campaign page, render per change"]
    report.check(
        "campaign page render per change ≤ 5 ms CPU",
        render.cpu_ms <= 5.0 and render.errors == 0,
        f"{render.cpu_ms:.2f} ms of server CPU per render at {scale_label} "
        f"(the whole page in one go: {large['campaign page, uncached render'].cpu_ms:.2f} ms)",
    )
    check_totals(report, stack, campaign, "after the page load")

    # Admin.
    if paths["dashboard"] and dash_small:
        dash_large, status = time_page(stack.base + paths["dashboard"], cookie, 10)
        report.rows.append(
            {
                "section": "admin",
                "name": "dashboard render",
                "value": f"{dash_small * 1000:.0f} ms at {config.small:,}, "
                f"{dash_large * 1000:.0f} ms at {scale_label} (HTTP {status})",
            }
        )
        report.check(
            "dashboard at 1M ≤ 2 × at 1k",
            dash_large <= 2 * dash_small and status == 200,
            f"{dash_large * 1000:.0f} ms vs {dash_small * 1000:.0f} ms "
            f"({dash_large / dash_small:.2f} ×)",
        )
    else:
        report.check("dashboard at 1M ≤ 2 × at 1k", False, "pending: no dashboard URL found")
    if paths["export"]:
        csv_export(report, stack, paths["export"], cookie, config.donations)
    else:
        report.check("CSV export streams with flat memory", False, "pending: no export URL")

    # Writes under load.
    donation_start(report, stack, config, campaign)
    celery_start(stack, 2)
    rush(report, stack, config, campaign)
    ceiling = webhooks(report, stack, config, campaign)
    webhooks_sustained(report, stack, config, campaign, ceiling)
    fanout(report, stack, config, campaign)
    check_totals(report, stack, campaign, "at the end")


if __name__ == "__main__":
    sys.exit(main())
