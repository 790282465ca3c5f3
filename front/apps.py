from __future__ import annotations

from django.apps import AppConfig


class PublicConfig(AppConfig):
    """Every page a visitor opens; no models of its own."""

    name = "front"

    def ready(self) -> None:
        # Connected here so web processes and Celery workers alike drop cached pages on change.
        from core.signals import public_content_changed
        from front import cache

        cache.connect_signals()
        # Services that change public content with queryset updates (no post_save) say so.
        public_content_changed.connect(
            _public_content_changed, dispatch_uid="front.cache.public_content_changed"
        )


def _public_content_changed(sender: object, **kwargs: object) -> None:
    from front import cache

    cache.pages_invalidate_on_commit()
