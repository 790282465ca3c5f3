"""`/healthz/deep`: the database, the broker, the cache, and whether the worker and beat are
alive (their heartbeats are fresh). 503 naming whatever fails, for monitoring and people; the load
balancer polls `/healthz`, which depends on the database alone."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse

from config.health import _database_ok

from .models import Beat
from .services import statuses


def _broker_ok() -> bool | None:
    if not settings.CELERY_BROKER_URL:
        return None  # tasks run in-process: there is no broker to reach
    from config.celery import app

    try:
        # The URL from settings, one attempt: a health check must answer fast, not retry.
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return True
    except Exception:  # an unreachable broker is reported, not raised
        return False


def _cache_ok() -> bool:
    probe = uuid.uuid4().hex
    try:
        cache.set("healthz:probe", probe, timeout=30)
        return bool(cache.get("healthz:probe") == probe)
    except Exception:  # any cache failure is reported, not raised
        return False


def healthz_deep(request: HttpRequest) -> JsonResponse:
    database = _database_ok()
    broker = _broker_ok()
    checks: dict[str, bool | None] = {"database": database, "broker": broker, "cache": _cache_ok()}
    last_seen: dict[str, str | None] = {}
    if broker is not None and database:
        for status in statuses():
            if status.name in (Beat.WORKER, Beat.BEAT):
                checks[status.name] = not status.late
                last_seen[status.name] = status.at.isoformat() if status.at else None
    failing = [name for name, ok in checks.items() if ok is False]
    response = JsonResponse(
        {
            "status": "unavailable" if failing else "ok",
            "failing": failing,
            "checks": checks,
            "last_seen": last_seen,
        },
        status=503 if failing else 200,
    )
    response["Cache-Control"] = "no-store"
    return response
