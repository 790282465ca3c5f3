from __future__ import annotations

from django.db import models


class PeriodicClaim(models.Model):
    """Who last ran a periodic task, and until when no other beat may run it again."""

    name = models.CharField(max_length=200, primary_key=True, help_text="The Celery task name.")
    claimed_until = models.DateTimeField(
        help_text="Another beat's message for this task before this time is skipped."
    )
    host = models.CharField(max_length=255, blank=True, help_text="The host of the last run.")
    runs = models.PositiveBigIntegerField(default=0, help_text="How many beat runs it has had.")
    skipped = models.PositiveBigIntegerField(
        default=0, help_text="How many beat messages found it claimed and did nothing."
    )

    def __str__(self) -> str:
        return self.name
