from __future__ import annotations

from django.apps import AppConfig


class CampaignConfig(AppConfig):
    name = "campaign"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connected here so web processes and Celery workers alike drop cached pages on change.
        from . import cache

        cache.connect_signals()
