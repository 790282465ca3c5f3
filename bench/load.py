"""Load generation with wrk: one run, its throughput and latency percentiles."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "lua"


@dataclass(frozen=True)
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    status_errors: int
    socket_errors: int
    cpu_ms: float = 0.0  # server CPU per request (gunicorn workers), when measured

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 16,
    threads: int = 2,
    script: str = "get.lua",
    env: dict[str, str] | None = None,
) -> Run:
    args = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA / script),
        url,
    ]
    result = subprocess.run(
        args,
        cwd=ROOT,
        env={**os.environ, **(env or {}), "BENCH_THREADS": str(threads)},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            data = json.loads(line.removeprefix("BENCH_RESULT "))
            return Run(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                status_errors=data["status_errors"],
                socket_errors=data["socket_errors"],
            )
    raise RuntimeError(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
