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
