"""Admin: the dashboard's render time and the CSV export's memory."""

from __future__ import annotations

import statistics
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from bench import procs
from bench.config import Report
from bench.measure import RssSampler, http_get, url_of
from bench.stack import Stack


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
