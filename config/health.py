"""`/healthz`, what the load balancer polls: 200 when the database answers, 503 otherwise.

Only the database: with Redis (broker and cache) down the site keeps taking donations (pages
render uncached, work is stored and swept later), so a web node must not be dropped for it.
`/healthz/deep` (ops/health.py) reports every dependency for people and monitoring.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any database failure means unhealthy, never a 500
        return False


def healthz(request: HttpRequest) -> JsonResponse:
    healthy = _database_ok()
    response = JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": {"database": healthy}},
        status=200 if healthy else 503,
    )
    response["Cache-Control"] = "no-store"
    return response
