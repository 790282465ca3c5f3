"""Pages for platform faults: a database outage answers 503 with a clear page, never a bare 500.

Webhooks received during the outage get the 503 too, so Stripe keeps retrying them until the
database is back; the event is then stored and counted once.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

logger = logging.getLogger(__name__)

OUTAGE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = "30"


def _is_outage(error: BaseException | None) -> bool:
    # A lost connection can also surface as a plain DatabaseError from the driver.
    return isinstance(error, OUTAGE_ERRORS) or (
        type(error) is DatabaseError and "connect" in str(error).lower()
    )


def _render(request: HttpRequest, template: str, status: int) -> HttpResponse:
    """Render without touching the database: the page must work when the database does not."""
    body: str
    try:
        body = loader.render_to_string(template, request=request)
    except Exception:  # the template itself failed: fall back to plain text, never another error
        logger.exception("Could not render %s", template)
        body = "Service unavailable. Nothing was charged. Please try again in a minute."
    return HttpResponse(body, status=status)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/stripe/") or request.path.endswith(".json"):
        response: HttpResponse = JsonResponse(
            {"error": "Database unavailable, retry later."}, status=503
        )
    else:
        response = _render(request, "503.html", 503)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database outage raised by a view into 503 (see `server_error` for middleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if _is_outage(exception):
            logger.error("Database unavailable on %s: %s", request.path, exception)
            return unavailable_response(request)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the database may have failed outside a view (sessions, authentication)."""
    if _is_outage(sys.exc_info()[1]):
        return unavailable_response(request)
    return _render(request, "500.html", 500)
