"""Reading the environment for `config/settings.py`: one `env`, and values that fail at start-up
with a message naming the variable instead of misbehaving later."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


_BOOL_WORDS = {"1", "0", "true", "false", "yes", "no", "on", "off", "y", "n", "t", "f", ""}


def env_or_fail[T](reader: Callable[..., T], name: str, **kwargs: Any) -> T:
    """Read one variable, turning a malformed value into a clear start-up error."""
    raw = os.environ.get(name)
    # django-environ reads any unknown word ("flase", "maybe") as False: refuse it instead.
    if reader == env.bool and raw is not None and raw.strip().lower() not in _BOOL_WORDS:
        raise ImproperlyConfigured(
            f"Environment variable {name} is invalid: {raw!r} is not 1 or 0."
        )
    try:
        return reader(name, **kwargs)
    except (ValueError, ImproperlyConfigured) as error:
        raise ImproperlyConfigured(f"Environment variable {name} is invalid: {error}") from error


_BACKENDS_WITHOUT_HOST = ("console", "locmem", "dummy", "filebased")


def mailers_from_url(url: str) -> dict[str, Any]:
    """Django 6.1's `MAILERS` from an `EMAIL_URL` (django-environ yields the older EMAIL_* keys)."""
    email = environ.Env.email_url_config(url)
    if any(name in email["EMAIL_BACKEND"] for name in _BACKENDS_WITHOUT_HOST):
        return {"default": {"BACKEND": email["EMAIL_BACKEND"]}}
    return {
        "default": {
            "BACKEND": email["EMAIL_BACKEND"],
            "OPTIONS": {
                "host": email.get("EMAIL_HOST") or "localhost",
                "port": email.get("EMAIL_PORT") or 25,
                "username": email.get("EMAIL_HOST_USER") or "",
                "password": email.get("EMAIL_HOST_PASSWORD") or "",
                "use_tls": bool(email.get("EMAIL_USE_TLS")),
                "use_ssl": bool(email.get("EMAIL_USE_SSL")),
                "timeout": 15,
            },
        }
    }


def networks_check(name: str, networks: list[str]) -> None:
    try:
        for network in networks:
            ipaddress.ip_network(network, strict=False)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} is invalid: {error}") from error


def env_seconds(name: str, *, default: int, low: int, high: int) -> int:
    """A duration in whole seconds between `low` and `high`, or a start-up error naming it
    (`MY_GIFTS_LINK_MAX_AGE`: how long the emailed sign-in link to a donor's page works)."""
    value = env_or_fail(env.int, name, default=default)
    if not low <= value <= high:
        raise ImproperlyConfigured(
            f"Environment variable {name} is invalid: {value} is not between {low} and {high} "
            "seconds."
        )
    return value
