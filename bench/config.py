"""The run's knobs (`Config`, from the environment), its results (`Report`) and its log."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from bench import procs

ROOT = procs.ROOT
RESULTS = ROOT / "bench" / "results"
WEBHOOK_SECRET = "whsec_bench_" + "0" * 24
CONNECTIONS = 16
# The run's budget: stages that would overrun it are cut short and reported as such; the watchdog
# stops everything two minutes later if something hangs.
BUDGET_SECONDS = 30 * 60
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
    workers: int  # 0: gunicorn.conf.py's default (WEB_CONCURRENCY unset)
    threads: int  # 0: gunicorn.conf.py's default (GUNICORN_THREADS unset)
    subscribers: int
    database_url: str
    redis_url: str
    keep_db: bool
    cache_db: int = 13
    broker_db: int = 12

    @property
    def processes(self) -> int:
        """What gunicorn.conf.py starts: WEB_CONCURRENCY, 2 per CPU by default."""
        return self.workers or 2 * (os.cpu_count() or 1)

    @property
    def threads_each(self) -> int:
        return self.threads or 4

    @property
    def server_label(self) -> str:
        label = f"`gunicorn --config gunicorn.conf.py config.wsgi`: {self.processes} gthread "
        label += f"processes × {self.threads_each} threads"
        if self.workers or self.threads:
            label += " (set by BENCH_WORKERS/BENCH_THREADS: not the default configuration)"
        return label

    @classmethod
    def from_env(cls) -> Config:
        quick = os.environ.get("BENCH_QUICK") == "1"
        scale = float(os.environ.get("BENCH_SCALE", "0.01" if quick else "1"))
        if not 0 < scale <= 1:
            raise SystemExit("BENCH_SCALE must be in (0, 1].")
        return cls(
            scale=scale,
            donations=max(5_000, int(1_000_000 * scale)),
            small=1_000,
            seconds=float(os.environ.get("BENCH_SECONDS", "5" if scale >= 0.5 else "3")),
            runs=int(os.environ.get("BENCH_RUNS", "3")),
            workers=int(os.environ.get("BENCH_WORKERS", "0")),
            threads=int(os.environ.get("BENCH_THREADS", "0")),
            subscribers=max(500, int(46_000 * scale)) if scale < 1 else 46_000,
            database_url=os.environ.get(
                "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/campaign_bench"
            ),
            redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379"),
            keep_db=os.environ.get("BENCH_KEEP_DB") == "1",
            # Redis database numbers, so a run can share a Redis with test suites on others.
            cache_db=int(os.environ.get("BENCH_REDIS_CACHE_DB", "13")),
            broker_db=int(os.environ.get("BENCH_REDIS_BROKER_DB", "12")),
        )


@dataclass
class Report:
    config: Config
    started: float = field(default_factory=time.monotonic)
    rows: list[dict[str, Any]] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    measured: dict[str, float] = field(default_factory=dict)  # figures a later stage reuses

    @property
    def budget(self) -> float:
        return BUDGET_SECONDS if self.config.scale >= 1 else QUICK_BUDGET_SECONDS

    def time_left(self) -> float:
        return self.budget - (time.monotonic() - self.started)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append((name, ok, detail))
        log(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
