"""Public pages kept rendered in the shared cache, dropped whenever anything they show changes.

Everyone reads the campaign page and totals.json; they change only when a donation counts, is
refunded or edited, or the organizer edits the campaign or an update. So each page is rendered once
per change and served from the cache in between.

Invalidation is a *generation* number in the cache: every key includes it, and a change increments
it (on commit). A render that read the database before a change stores its result under the old
generation, which nobody reads any more, so a stale page can never be served after the change is
committed. Entries for one key never change, which lets each process also keep a small local copy
and skip fetching the page from Redis on every request.

A *scheduled* update becomes visible with no write at that moment; the periodic
sweep (`campaign.tasks.updates_sweep`, every minute) saves it as its emails start: that drops them.

After a change, one thread per process renders the new page while the others keep serving the
previous one for those few milliseconds, instead of every thread rendering it at once.

Per-visitor parts (the CSRF token, the CSP nonce) are rendered as placeholders and filled in for
each request (`personalise`). The cache is only used when `settings.PAGE_CACHE` is on, which needs
a cache shared by every process (Redis): with a per-process cache a worker's invalidation would not
reach the web processes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from core.outages import CACHE_ERRORS
from front import personal
from front.personal import (  # re-exported: the pages and the bench fill their pages through here
    CSRF_PLACEHOLDER,
    NONCE_PLACEHOLDER,
    personalise,
)

logger = logging.getLogger(__name__)
GENERATION_KEY = "pages:generation"
# The generation of what changes only when the organizer edits (the story, the updates, the
# stages' texts, the ledger): parts rendered once per edit and reused by every page render in
# between. Counting a gift moves GENERATION_KEY only; an edit moves both.
CONTENT_KEY = "pages:content"
PAGE_TTL_SECONDS = 3600
LOCAL_MAX_ENTRIES = 256


# How long a process trusts the generation it last read. Reading it on every request cost a Redis
# round trip per request, as much as the rest of a cached page (profiling showed that wait was half
# of the page's time); read twice a second it costs nothing. So another process's change shows
# within this delay (the process making the change sees it at once): it was 1 s, most of the 2 s a
# counted gift may take to show during a rush (issue 15); a shorter trust makes each process fetch
# or render the page twice a second during a rush instead of once (2.6 ms of CPU each).
GENERATION_SECONDS = 0.5

# Entries are immutable for a given key (the key carries the generation), so a local copy is safe.
_local: dict[str, Any] = {}
_latest: dict[str, tuple[str, Any]] = {}  # the newest copy of each page, whatever its generation
_build_lock = threading.Lock()
_generation_seen: tuple[float, int, int] | None = None
# An invalidation this process could not make (Redis unreachable): made as soon as Redis answers.
_invalidation_lost = False


def enabled() -> bool:
    return bool(getattr(settings, "PAGE_CACHE", False))


def _generations() -> tuple[int, int]:
    """(pages, content): the current generations, asked of the shared cache (one round trip for
    both) at most every `GENERATION_SECONDS`."""
    global _generation_seen
    now = time.monotonic()
    if _generation_seen is not None and now - _generation_seen[0] < GENERATION_SECONDS:
        return _generation_seen[1], _generation_seen[2]
    global _invalidation_lost
    if _invalidation_lost:
        _invalidation_lost = False
        pages_invalidate()
    values = cache.get_many([GENERATION_KEY, CONTENT_KEY])
    found = []
    for key in (GENERATION_KEY, CONTENT_KEY):
        value = values.get(key)
        if value is None:
            # Start from the clock, not 1: after Redis loses the key, old local copies keyed under
            # a small number must not match again.
            cache.add(key, time.time_ns(), timeout=None)
            value = cache.get(key) or 0
        found.append(int(value))
    _generation_seen = (now, found[0], found[1])
    return found[0], found[1]


def _generation() -> int:
    """The generation of whole pages: it moves with every change they show."""
    return _generations()[0]


# The generation part of a key made while the cache is unreachable: such a page is rendered for
# the request and never stored or served from a local copy.
UNCACHED = "uncached"


def page_key(*parts: str) -> str:
    """The key for one page, read before the page's data so a concurrent change cannot go stale."""
    try:
        generation = str(_generation())
    except CACHE_ERRORS:
        logger.warning("Cache unavailable: pages render uncached")
        generation = UNCACHED
    return ":".join(["page", generation, *parts])


def content_key(*parts: str) -> str:
    """The key for a part that changes only with an edit (see CONTENT_KEY), read like
    `page_key` before the data it is built from."""
    try:
        generation = f"c{_generations()[1]}"
    except CACHE_ERRORS:
        generation = UNCACHED
    return ":".join(["page", generation, *parts])


def cached[T](key: str, build: Callable[[], T | None]) -> T | None:
    """The value stored under `key`, built (and stored) on a miss. `None` is never stored."""
    if key.startswith(f"page:{UNCACHED}:"):
        return build()
    if key in _local:
        return _local[key]  # type: ignore[no-any-return]
    page = key.split(":", 2)[-1]  # the same page in any generation
    previous = _latest.get(page)
    # One render per process at a time; the other threads serve the previous version meanwhile.
    if not _build_lock.acquire(blocking=previous is None):
        return previous[1]  # type: ignore[index,no-any-return]
    try:
        if key in _local:
            return _local[key]  # type: ignore[no-any-return]
        value = safe_get(key)
        if value is None:
            value = build()
            if value is None:
                return None
            safe_set(key, value, timeout=PAGE_TTL_SECONDS)
        if len(_local) >= LOCAL_MAX_ENTRIES:
            _local.clear()
            _latest.clear()
        _local[key] = value
        _latest[page] = (key, value)
        return value  # type: ignore[no-any-return]
    finally:
        _build_lock.release()


def cached_part[T](key: str, build: Callable[[], T]) -> T:
    """Like `cached` for a part of a page (a `content_key`), with no fallback to a previous
    version: a page built now must never be stored with an older part. Called while `cached`
    builds the page, so it takes no lock of its own."""
    if key.startswith(f"page:{UNCACHED}:"):
        return build()
    if key in _local:
        return _local[key]  # type: ignore[no-any-return]
    value = safe_get(key)
    if value is None:
        value = build()
        safe_set(key, value, timeout=PAGE_TTL_SECONDS)
    if len(_local) >= LOCAL_MAX_ENTRIES:
        _local.clear()
        _latest.clear()
    _local[key] = value
    return value  # type: ignore[no-any-return]


def safe_get(key: str) -> Any:
    """`cache.get`, or None while the cache is unreachable (the caller renders afresh)."""
    try:
        return cache.get(key)
    except CACHE_ERRORS:
        logger.warning("Cache unavailable: %s rendered uncached", key)
        return None


def safe_set(key: str, value: Any, *, timeout: int) -> None:
    """`cache.set`, skipped while the cache is unreachable."""
    try:
        cache.set(key, value, timeout=timeout)
    except CACHE_ERRORS:
        logger.warning("Cache unavailable: %s not stored", key)


def local_reset() -> None:
    """Forget this process's copies (tests: the shared cache is cleared between them)."""
    global _generation_seen
    _local.clear()
    _latest.clear()
    personal.forget()
    _generation_seen = None


def pages_invalidate() -> None:
    """Make every cached page stale now, and every part rendered once per edit."""
    _invalidate(GENERATION_KEY, CONTENT_KEY)


def figures_invalidate() -> None:
    """Make every cached page stale now, keeping the parts that change only with an edit: what
    counting a gift does."""
    _invalidate(GENERATION_KEY)


def _invalidate(*keys: str) -> None:
    global _generation_seen, _invalidation_lost
    _generation_seen = None
    for key in keys:
        try:
            cache.incr(key)
        except ValueError:  # the key is gone (evicted, flushed): a fresh clock value is new anyway
            cache.set(key, time.time_ns(), timeout=None)
        except CACHE_ERRORS:
            logger.warning("Cache unavailable: pages invalidated when it answers again")
            # Made in full (both generations) as soon as the cache answers.
            _invalidation_lost = True


def pages_invalidate_on_commit() -> None:
    """Invalidate once the current transaction commits (at once outside a transaction)."""
    if enabled():
        transaction.on_commit(pages_invalidate)


def figures_invalidate_on_commit() -> None:
    """`figures_invalidate` once the current transaction commits."""
    if enabled():
        transaction.on_commit(figures_invalidate)


def placeholders() -> dict[str, str]:
    """Template context that renders the per-visitor parts as placeholders."""
    return {"csrf_token": CSRF_PLACEHOLDER, "csp_nonce": NONCE_PLACEHOLDER}


def context_processor(request: HttpRequest) -> dict[str, str]:
    """Listed last in TEMPLATES: while a page is rendered for the cache, the per-visitor values
    become placeholders (`personalise` fills them in for each visitor)."""
    return placeholders() if getattr(request, "page_cache_build", False) else {}


View = Callable[..., HttpResponse]


def cached_response(name: str) -> Callable[[View], View]:
    """Serve a public GET view from the cache, rendered once per change (see the module's doc).

    Only anonymous requests without a query string are cached (nothing personal or attacker-chosen
    is stored for everyone); a response that is not a plain 200 or sets cookies is never stored.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not enabled() or has_query(request) or signed_in(request):
                return view(request, *args, **kwargs)
            parts = [str(a) for a in args] + [f"{k}={v}" for k, v in sorted(kwargs.items())]
            key = page_key(name, translation.get_language() or "", *parts)
            fresh: list[HttpResponse] = []

            def build() -> tuple[bytes, list[tuple[str, str]]] | None:
                request.page_cache_build = True  # type: ignore[attr-defined]
                try:
                    response = view(request, *args, **kwargs)
                finally:
                    request.page_cache_build = False  # type: ignore[attr-defined]
                fresh.append(response)
                if response.status_code != 200 or response.streaming or response.cookies:
                    return None
                return response.content, list(response.headers.items())

            entry = cached(key, build)
            if entry is None:
                return fresh[0]
            content, headers = entry
            return HttpResponse(personalise(content, request), headers=dict(headers))

        return wrapped

    return decorator


def has_query(request: HttpRequest) -> bool:
    """Whether the URL has a query string, without parsing it into `request.GET`."""
    return bool(request.META.get("QUERY_STRING"))


def signed_in(request: HttpRequest) -> bool:
    """Whether the visitor is signed in. Without a session cookie nobody is, and the user (the
    session, the two-factor device) is not even loaded: that was a seventh of the cached page."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    return bool(request.user.is_authenticated)


# Models saved often that no public page shows: their writes must not drop the cached pages.
IGNORED_MODELS = frozenset(
    {
        "donations.stripeevent",
        "donations.donortally",
        "donations.donoraccess",  # the donor's page (front/views/my_gifts.py) is never cached
        "donations.erasurerequest",
        "campaign.subscriber",
        "campaign.updatedelivery",
    }
)
PAGE_APPS = frozenset({"campaign", "donations"})
# The donations app's models whose rows the campaign page keeps with its once-per-edit parts
# (front/case_page.py's CaseFrame): written rarely, they drop those parts too; so does a new pledge
# (the frame knows whether any exists).
DONATION_CONTENT_MODELS = frozenset({"donations.caseclosure"})


def model_changed(sender: type[Model], instance: Model, **kwargs: object) -> None:
    """Signal receiver: any write to what public pages show drops them once it commits."""
    meta = sender._meta
    if meta.app_label not in PAGE_APPS or meta.label_lower in IGNORED_MODELS:
        return
    # A pending donation is invisible until paid: starting one (the donation rush) changes nothing.
    if getattr(instance, "state", None) == "pending" and meta.label_lower.startswith("donations."):
        return
    created = bool(kwargs.get("created"))
    if (
        meta.app_label == "donations"
        and meta.label_lower not in DONATION_CONTENT_MODELS
        and not (created and meta.label_lower == "donations.pledge")
    ):
        # Gifts, pledges, refunds, the counters: the figures, never the story or the updates.
        figures_invalidate_on_commit()
    else:
        pages_invalidate_on_commit()


def connect_signals() -> None:
    post_save.connect(model_changed, dispatch_uid="campaign.cache.saved")
    post_delete.connect(model_changed, dispatch_uid="campaign.cache.deleted")
