"""`/healthz`: 200 when the database (and the broker, when one is set) answer, 503 otherwise."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any database failure means unhealthy, never a 500
        return False


def _broker_ok() -> bool | None:
    if not settings.CELERY_BROKER_URL:
        return None
    from config.celery import app

    try:
        # The URL from settings, one attempt: a health check must answer fast, not retry.
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return True
    except Exception:  # an unreachable broker is reported, not raised
        return False


def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, bool | None] = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(value is not False for value in checks.values())
    response = JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
    response["Cache-Control"] = "no-store"
    return response
