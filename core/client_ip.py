"""The client's address, the one way every part of the site reads it (rate limits, axes, logs,
audit).

Behind a reverse proxy `REMOTE_ADDR` is the proxy. Each trusted proxy appends the address it saw to
`X-Forwarded-For` (nginx: `proxy_set_header X-Forwarded-For $remote_addr`), so with
`TRUSTED_PROXY_COUNT` proxies in front the client is the entry that many places from the right.
Entries further left were written by the client and are never read. The header is only read when
the connection comes from `TRUSTED_PROXIES`, so a client that reaches the app server directly
cannot choose its address. A missing, short or malformed header gives the connecting address:
never an error, never a skipped limit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar
from functools import cache
from typing import Protocol

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# What `REMOTE_ADDR` is when it is not an address at all (a Unix socket): one shared bucket.
UNKNOWN = "0.0.0.0"  # noqa: S104 - a placeholder value, nothing binds to it

_current: ContextVar[str | None] = ContextVar("client_ip", default=None)


class _Request(Protocol):
    META: dict[str, object]


def _address(value: object) -> str | None:
    """The normalised address in `value`, or None when it is not one."""
    text = str(value or "").strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:5678"
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@cache
def _networks(
    spec: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(net, strict=False) for net in spec)


def _trusted(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in net for net in _networks(tuple(settings.TRUSTED_PROXIES)))


def header_meta_key() -> str:
    """`X-Forwarded-For` as Django's `request.META` names it."""
    return "HTTP_" + str(settings.TRUSTED_PROXY_HEADER).upper().replace("-", "_")


def client_ip(request: _Request) -> str:
    """The client's address for this request (see the module docstring)."""
    remote = _address(request.META.get("REMOTE_ADDR")) or UNKNOWN
    count = int(settings.TRUSTED_PROXY_COUNT)
    # A Unix socket (no address) only takes connections from this machine: a local proxy.
    if count < 1 or (remote != UNKNOWN and not _trusted(remote)):
        return remote
    entries = [e for e in str(request.META.get(header_meta_key(), "")).split(",") if e.strip()]
    if len(entries) < count:
        return remote
    return _address(entries[-count]) or remote


class ClientAddressMiddleware:
    """Makes the client address of the request being served available to code without the
    request (`current()`), such as the money audit log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


def current() -> str | None:
    """The client address of the request this thread is serving, None outside a request."""
    return _current.get()
