"""System checks shown by `manage.py check --deploy`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


def proxy_client_address(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Proxied (the site trusts the proxy's X-Forwarded-Proto) but not told how many proxies
    append to X-Forwarded-For: every visitor would have the proxy's address, so the first rush of
    donations would lock everyone out and one attacker could lock out the organizer."""
    if settings.SECURE_PROXY_SSL_HEADER and settings.TRUSTED_PROXY_COUNT < 1:
        return [
            checks.Error(
                "The site runs behind a proxy (SECURE_PROXY_SSL_HEADER is set) but "
                "TRUSTED_PROXY_COUNT is 0: rate limits and sign-in lock-outs would see the "
                "proxy's address for every visitor.",
                hint="Set TRUSTED_PROXY_COUNT=1 behind nginx (2 with a load balancer in front).",
                id="ops.E001",
            )
        ]
    return []


def register() -> None:
    checks.register(proxy_client_address, checks.Tags.security, deploy=True)
