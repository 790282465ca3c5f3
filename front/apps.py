from __future__ import annotations

from django.apps import AppConfig


class PublicConfig(AppConfig):
    """Every page a visitor opens; no models of its own."""

    name = "front"

    def ready(self) -> None:
        # Connected here so web processes and Celery workers alike drop cached pages on change.
        from front import cache

        cache.connect_signals()
