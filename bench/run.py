"""`make bench`: the site under load on this machine, every throughput as a ratio to the floor.

Runs gunicorn with the production settings (DEBUG off) against a dedicated PostgreSQL database
(created and dropped here), Redis for the cache and the broker, the test suite's Stripe fake as its
own process and an aiosmtpd sink; drives load with wrk; writes docs/benchmarks.md (a full run) or
bench/results/benchmarks-scale-<s>.md (a quick run, BENCH_SCALE < 1).

Knobs (environment): BENCH_SCALE (1 = a million donations; 0.01 for a quick run), BENCH_SECONDS
(per wrk run), BENCH_RUNS (3: the median is reported), BENCH_WORKERS (gunicorn workers, default
2 × cores + 1), BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_KEEP_DB=1 to keep the database.
"""

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import procs
from bench.load import Run, median, wrk

ROOT = procs.ROOT
RESULTS = ROOT / "bench" / "results"
WEBHOOK_SECRET = "whsec_bench_" + "0" * 24
CONNECTIONS = 16
# The run's budget: stages that would overrun it are cut short and reported as such; the watchdog
# stops everything two minutes later if something hangs.
BUDGET_SECONDS = 26 * 60
QUICK_BUDGET_SECONDS = 8 * 60


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", flush=True)


@dataclass
class Config:
    scale: float
    donations: int
    small: int
    seconds: float
    runs: int
    workers: int
    worker_class: str
    threads: int
    subscribers: int
    database_url: str
    redis_url: str
    keep_db: bool

    @classmethod
    def from_env(cls) -> Config:
        scale = float(os.environ.get("BENCH_SCALE", "1"))
        if not 0 < scale <= 1:
            raise SystemExit("BENCH_SCALE must be in (0, 1].")
        cores = os.cpu_count() or 1
        return cls(
            scale=scale,
            donations=max(5_000, int(1_000_000 * scale)),
            small=1_000,
            seconds=float(os.environ.get("BENCH_SECONDS", "5" if scale >= 0.5 else "3")),
            runs=int(os.environ.get("BENCH_RUNS", "3")),
            workers=int(os.environ.get("BENCH_WORKERS", str(2 * cores + 1))),
            worker_class=os.environ.get("BENCH_WORKER_CLASS", "gthread"),
            threads=int(os.environ.get("BENCH_THREADS", "4")),
            subscribers=max(500, int(46_000 * scale)) if scale < 1 else 46_000,
            database_url=os.environ.get(
                "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/campaign_bench"
            ),
            redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379"),
            keep_db=os.environ.get("BENCH_KEEP_DB") == "1",
        )


@dataclass
class Report:
    config: Config
    started: float = field(default_factory=time.monotonic)
    rows: list[dict[str, Any]] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def budget(self) -> float:
        return BUDGET_SECONDS if self.config.scale >= 1 else QUICK_BUDGET_SECONDS

    def time_left(self) -> float:
        return self.budget - (time.monotonic() - self.started)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append((name, ok, detail))
        log(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")


# --- Services ------------------------------------------------------------------------------


def database_recreate(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]+", name) or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"Refusing to recreate database {name!r}: use a dedicated benchmark name.")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {name}")


def redis_flush(*urls: str) -> None:
    import redis

    for url in urls:
        redis.Redis.from_url(url).flushdb()


@dataclass
class Stack:
    env: dict[str, str]
    port: int
    base: str
    gunicorn: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sink_file: Path = RESULTS / "smtp-sink.txt"


def stack_start(config: Config) -> Stack:
    RESULTS.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    smtp_port = procs.free_port()
    cache_url = f"{config.redis_url}/13"
    broker_url = f"{config.redis_url}/12"
    redis_flush(cache_url, broker_url)

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "STRIPE_", "CELERY_", "EMAIL_")) and k != "TESTING"
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "TESTING": "0",
            "BENCH": "1",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "DATABASE_URL": config.database_url,
            # Persistent connections, as production should run: a new PostgreSQL connection per
            # request costs more than most pages.
            "CONN_MAX_AGE": "600",
            "CACHE_URL": cache_url.replace("redis://", "rediscache://", 1),
            "PAGE_CACHE": "1",
            "CELERY_BROKER_URL": broker_url,
            "PAYMENT_GATEWAY": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_MAX_NETWORK_RETRIES": "0",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "RATELIMIT_ENABLE": "0",
            "ADMIN_REQUIRE_OTP": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )

    fake = procs.start("stripe-fake", [procs.PYTHON, "-m", "bench.stripe_server"], env)
    fake_log = RESULTS / "stripe-fake.log"
    deadline = time.monotonic() + 20
    while "http://" not in (fake_log.read_text() if fake_log.exists() else ""):
        if fake.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("The Stripe fake did not start; see bench/results/stripe-fake.log")
        time.sleep(0.1)
    env["STRIPE_API_BASE"] = fake_log.read_text().split()[0]

    stack = Stack(env=env, port=port, base=f"http://127.0.0.1:{port}")
    stack.sink_file.write_text("")
    sink = [procs.PYTHON, "-m", "bench.smtp_sink", str(smtp_port), str(stack.sink_file)]
    procs.start("smtp-sink", sink, env)
    procs.wait_port(smtp_port)

    database_recreate(config.database_url)
    log("migrating the benchmark database")
    manage = [procs.PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    return stack


def gunicorn_start(
    stack: Stack, workers: int, worker_class: str = "sync", threads: int = 1
) -> None:
    if stack.gunicorn is not None:
        procs.stop(stack.gunicorn)
    stack.gunicorn = procs.start(
        "gunicorn",
        [
            procs.PYTHON, "-m", "gunicorn", "config.wsgi:application",
            "--workers", str(workers),
            "--worker-class", worker_class,
            "--threads", str(threads),
            "--bind", f"127.0.0.1:{stack.port}",
            "--backlog", "2048",
            # The CSV export of a million rows is one long response.
            "--timeout", "300",
            "--graceful-timeout", "5",
            "--no-control-socket",
            "--log-level", "warning",
        ],
        stack.env,
    )  # fmt: skip
    procs.wait_http(stack.base + "/healthz", proc=stack.gunicorn)


def celery_start(stack: Stack, count: int = 2) -> None:
    for n in range(count):
        stack.workers.append(
            procs.start(
                f"celery-{n + 1}",
                [
                    procs.PYTHON, "-m", "celery", "-A", "config", "worker",
                    "--pool", "solo", "-n", f"bench{n + 1}@%h",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                    "--loglevel", "WARNING",
                ],
                stack.env,
            )
        )  # fmt: skip


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


# --- Measurements --------------------------------------------------------------------------


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
    pids = procs.children(stack.gunicorn.pid)
    before = procs.cpu_seconds(pids)
    run = wrk(url, seconds=seconds, connections=CONNECTIONS, **kwargs)
    spent = procs.cpu_seconds(pids) - before
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
    # Informative: a query string bypasses the page cache, so this is the full render each time.
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


# --- Admin: dashboard and CSV export ---------------------------------------------------------


def admin_cookie() -> str:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    user.set_unusable_password()
    user.save()
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def admin_paths(campaign: Any) -> dict[str, str | None]:
    """The dashboard and CSV export, wherever the admin feature put them (None: not built yet)."""
    names = {
        "dashboard": ("admin:donations_donation_dashboard", "admin:campaign_dashboard"),
        "export": ("admin:donations_donation_export", "admin:donations_export"),
    }
    found: dict[str, str | None] = {"dashboard": None, "export": None}
    for kind, candidates in names.items():
        for name in candidates:
            found[kind] = found[kind] or url_of(name, str(campaign.pk)) or url_of(name)
    return found


def time_page(url: str, cookie: str, count: int) -> tuple[float, int]:
    """Median seconds of `count` sequential loads (after one warm-up) and the last status."""
    times = []
    status = 0
    for n in range(count + 1):
        started = time.perf_counter()
        status, _, _ = http_get(url, {"Cookie": cookie})
        if n:
            times.append(time.perf_counter() - started)
    return statistics.median(times), status


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


def csv_export(report: Report, stack: Stack, path: str, cookie: str, rows: int) -> None:
    assert stack.gunicorn is not None
    sampler = RssSampler(procs.children(stack.gunicorn.pid))
    sampler.start()
    started = time.perf_counter()
    request = urllib.request.Request(stack.base + path, headers={"Cookie": cookie})  # noqa: S310
    size = lines = 0
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
        status = response.status
        while chunk := response.read(1 << 16):
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    sampler.stop()
    baseline, peak = sampler.busiest()
    report.rows.append(
        {
            "section": "admin",
            "name": f"CSV export of {rows:,} donations",
            "value": f"{lines:,} lines, {size / 1e6:.0f} MB in {seconds:.1f} s "
            f"({lines / seconds:,.0f} rows/s); worker RSS {baseline:.0f} → peak {peak:.0f} MB",
        }
    )
    report.check(
        "CSV export streams with flat memory",
        status == 200 and peak < 150 and lines >= rows,
        f"HTTP {status}, {lines:,} lines for {rows:,} rows, peak worker RSS {peak:.0f} MB "
        f"(baseline {baseline:.0f} MB, target < 150 MB)",
    )


# --- Donation start and webhooks -------------------------------------------------------------


def csrf_for(stack: Stack, slug: str) -> tuple[str, str]:
    """Load the campaign page as a visitor does: its CSRF cookie and the form's token."""
    _, body, headers = http_get(stack.base + f"/campaigns/{slug}/")
    cookie = ""
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("csrftoken="):
            cookie = value.split(";", 1)[0].split("=", 1)[1]
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if not cookie or not match:
        raise RuntimeError("The campaign page gave no CSRF cookie or token.")
    return cookie, match.group(1).decode()


def donation_start(report: Report, stack: Stack, config: Config, campaign: Any) -> None:
    from donations.models import Donation

    cookie, token = csrf_for(stack, campaign.slug)
    path = f"/campaigns/{campaign.slug}/donate/"
    status, _, headers = _post_form(stack.base + path, cookie, token)
    if status != 303 or "checkout.stripe.test" not in (headers.get("Location") or ""):
        raise RuntimeError(f"A donation start answered {status}, not a 303 to Checkout")
    series = Series("donation start")
    for n in range(config.runs):
        floor_before = floor_run(stack, config)
        before = Donation.objects.filter(state="pending", display_name="Bench donor").count()
        run = measured(
            stack,
            stack.base + path,
            config.seconds,
            script="donate.lua",
            env={"BENCH_CSRF_COOKIE": cookie, "BENCH_CSRF_TOKEN": token},
        )
        created = Donation.objects.filter(state="pending", display_name="Bench donor").count()
        floor = floor_between(floor_before, floor_run(stack, config))
        series.runs.append(run)
        series.floors.append(floor)
        log(
            f"donation start round {n + 1}: {run.rps:.0f} rps (floor {floor.rps:.0f}), "
            f"{created - before} pending donations created for {run.requests} requests, "
            f"errors {run.status_errors + run.socket_errors}"
        )
        if created - before < run.requests - run.socket_errors:
            report.notes.append(
                f"Donation start round {n + 1}: {run.requests} requests but only "
                f"{created - before} donations created."
            )
    report.rows.append(_series_row("load", series))
    report.check(
        "donation start ≥ 0.5 × floor",
        series.ratio >= 0.5 and series.errors == 0,
        f"{series.rps:.0f} rps = {series.ratio:.2f} × floor ({series.floor_rps:.0f} rps), "
        f"by CPU per request {series.cpu_ratio:.2f} × floor, errors {series.errors}",
    )


def _post_form(url: str, cookie: str, token: str) -> tuple[int, bytes, Any]:
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "amount": "25.00", "display_name": "Bench check"}
    ).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(  # noqa: S310 - local address
        url, data=body, headers={"Cookie": f"csrftoken={cookie}"}, method="POST"
    )
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


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


# --- Update fan-out ----------------------------------------------------------------------------


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


# --- Report ------------------------------------------------------------------------------------


def _series_row(section: str, s: Series) -> dict[str, Any]:
    return {
        "section": section,
        "name": s.name,
        "value": f"{s.rps:,.0f} rps = {s.ratio:.2f} × floor ({s.floor_rps:,.0f} rps); "
        f"p50 {s.p50:.1f} ms, p99 {s.p99:.1f} ms (floor p99 {s.floor_p99:.1f} ms); "
        f"server CPU {s.cpu_ms:.2f} ms/request = {s.cpu_ratio:.2f} × floor by CPU"
        + (f"; {s.errors} errors" if s.errors else ""),
    }


PG_VERSION = ""
REDIS_VERSION = ""


def versions_read(config: Config) -> None:
    """Server versions for the report, read while the services are up."""
    global PG_VERSION, REDIS_VERSION
    import redis
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        PG_VERSION = str(cursor.fetchone()[0]).split(" ")[0]
    REDIS_VERSION = str(redis.Redis.from_url(config.redis_url).info().get("redis_version", ""))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    wrk_version = subprocess.run(
        ["wrk", "--version"], capture_output=True, text=True, check=False
    ).stdout.split(" [")[0]
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"PostgreSQL {PG_VERSION or '?'}, Redis {REDIS_VERSION or '?'}, "
        f"{wrk_version.strip() or 'wrk'}"
    )


def write_report(report: Report) -> Path:
    config = report.config
    full = config.scale >= 1
    quick = RESULTS / f"benchmarks-scale-{config.scale}.md"
    path = ROOT / "docs" / "benchmarks.md" if full else quick
    passed = sum(ok for _, ok, _ in report.checks)
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench.run`); the sections after the figures are",
        "kept in `bench/notes.md`. Every throughput is a ratio to the floor (`/bench/floor/`, a",
        "fixed 2 KB page through the same middleware) measured in the same round; each figure is",
        f"the median of {config.runs} runs of {config.seconds:.0f} s.",
        "",
        f"- **Run**: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"`{'make bench' if full else f'BENCH_SCALE={config.scale} make bench'}`, "
        f"{(time.monotonic() - report.started) / 60:.1f} minutes",
        f"- **Machine**: {machine()}",
        f"- **Server**: gunicorn, {config.workers} {config.worker_class} workers (2 × cores + 1)"
        + (f" × {config.threads} threads" if config.threads > 1 else "")
        + ", production "
        "settings (DEBUG off), PostgreSQL, Redis cache and broker, persistent DB connections; "
        f"wrk with {CONNECTIONS} connections on the same machine",
        f"- **Data**: {config.donations:,} confirmed donations (and {config.small:,} for the "
        f"small-scale comparison); {config.subscribers:,} subscribers for the fan-out",
        "",
        f"## Targets: {passed} of {len(report.checks)} checks pass",
        "",
        "| check | result | measured |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {'✅' if ok else '❌'} | {d} |" for name, ok, d in report.checks]
    lines += ["", "## Figures", "", "| section | figure | measured |", "|---|---|---|"]
    lines += [f"| {r['section']} | {r['name']} | {r['value']} |" for r in report.rows]
    if report.timings:
        lines += ["", "## Setup times", ""]
        lines += [f"- {k}: {v:.1f} s" for k, v in report.timings.items()]
    if report.notes:
        lines += ["", "## Notes from this run", ""] + [f"- {n}" for n in report.notes]
    notes = ROOT / "bench" / "notes.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


# --- The run -----------------------------------------------------------------------------------


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
    gunicorn_start(stack, config.workers, config.worker_class, config.threads)
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
        f"{config.seconds:.0f} s runs, {config.workers} gunicorn workers"
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


def compare_worker_models(report: Report, stack: Stack, config: Config, campaign: Any) -> None:
    """One short round per gunicorn worker model, to show the one used is the better here."""
    from donations.models import Donation

    models = [("sync", config.workers, 1), ("gthread", config.workers, config.threads)]
    path = f"/campaigns/{campaign.slug}/donate/"
    for worker_class, workers, threads in models:
        gunicorn_start(stack, workers, worker_class, threads)
        cookie, token = csrf_for(stack, campaign.slug)
        floor = floor_run(stack, config)
        donate = wrk(
            stack.base + path,
            seconds=config.seconds,
            connections=CONNECTIONS,
            script="donate.lua",
            env={"BENCH_CSRF_COOKIE": cookie, "BENCH_CSRF_TOKEN": token},
        )
        label = f"{workers} {worker_class} workers"
        label += f" × {threads} threads" if threads > 1 else ""
        log(f"{label}: floor {floor.rps:.0f} rps, donation start {donate.rps:.0f} rps")
        report.rows.append(
            {
                "section": "server",
                "name": label,
                "value": f"floor {floor.rps:,.0f} rps (p99 {floor.p99_ms:.1f} ms); donation start "
                f"{donate.rps:,.0f} rps = {donate.rps / floor.rps:.2f} × floor (one run each)",
            }
        )
    Donation.objects.filter(display_name="Bench donor").delete()


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
    gunicorn_start(stack, config.workers, config.worker_class, config.threads)
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
    from public import cache as page_cache

    page_cache.pages_invalidate()  # the seeding wrote behind the application's back
    check_totals(report, stack, campaign, "after seeding")
    large = measure_rounds(stack, config, targets, label=f"{config.donations // 1000}k")

    scale_label = f"{config.donations:,}"
    for name in targets:
        s_small, s_large = small[name], large[name]
        s_large.name = f"{name} at {scale_label}"
        report.rows.append(_series_row("load", s_large))
        s_small.name = f"{name} at {config.small:,}"
        report.rows.append(_series_row("load", s_small))
        ratio = s_large.ratio / s_small.ratio if s_small.ratio else 0
        cpu = s_small.cpu_ms / s_large.cpu_ms if s_large.cpu_ms else 0
        informative = "uncached" in name
        report.rows.append(
            {
                "section": "scale",
                "name": f"{name}: {scale_label} vs {config.small:,}",
                "value": f"{ratio:.2f} (floor-normalised throughput ratio); {cpu:.2f} by server "
                f"CPU per request ({s_large.cpu_ms:.2f} vs {s_small.cpu_ms:.2f} ms)",
            }
        )
        if not informative:
            report.check(
                f"{name} scale-free (≥ 0.9)",
                ratio >= 0.9 and s_large.errors == 0,
                f"{ratio:.2f}: {s_large.ratio:.2f} × floor at {scale_label} vs "
                f"{s_small.ratio:.2f} × floor at {config.small:,}; by CPU per request {cpu:.2f}",
            )
    page = large["campaign page"]
    report.check(
        "campaign page ≥ 0.8 × floor at 1M",
        page.ratio >= 0.8 and page.errors == 0,
        f"{page.rps:,.0f} rps = {page.ratio:.2f} × floor ({page.floor_rps:,.0f} rps); "
        f"by CPU per request {page.cpu_ratio:.2f} × floor",
    )
    report.check(
        "campaign page p99 ≤ 2 × floor's",
        page.p99 <= 2 * page.floor_p99,
        f"{page.p99:.1f} ms vs floor {page.floor_p99:.1f} ms ({page.p99 / page.floor_p99:.2f} ×)",
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
    webhooks(report, stack, config, campaign)
    fanout(report, stack, config, campaign)
    check_totals(report, stack, campaign, "at the end")


if __name__ == "__main__":
    sys.exit(main())
