from __future__ import annotations

from django.apps import AppConfig


class PublicConfig(AppConfig):
    """Every page a visitor opens; no models of its own."""

    name = "public"

    def ready(self) -> None:
        # Connected here so web processes and Celery workers alike drop cached pages on change.
        from public import cache

        cache.connect_signals()
