"""When each background process last showed it was alive: one row per name, overwritten."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Beat(models.TextChoices):
    WORKER = "worker", _("Celery worker")
    BEAT = "beat", _("Celery beat (scheduler)")
    RECONCILIATION = "reconciliation", _("Reconciliation with Stripe")
    BACKUP = "backup", _("Database backup")


class Heartbeat(models.Model):
    name = models.CharField(_("what"), max_length=20, choices=Beat.choices, primary_key=True)
    at = models.DateTimeField(_("last ran"), help_text=_("When it last finished a run."))
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} {self.at:%Y-%m-%d %H:%M:%S}"
