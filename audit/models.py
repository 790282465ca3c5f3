"""Who did what with money in the admin, and when. Rows are only ever added."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MoneyAction(models.TextChoices):
    REFUND = "refund", _("refund")
    OFFLINE_GIFT = "offline_gift", _("offline gift recorded")
    GOAL_CHANGE = "goal_change", _("goal or cost changed")
    LEDGER = "ledger", _("legal cost ledger entry")
    DONATION_EDIT = "donation_edit", _("donation changed")
    DATA_ERASURE = "data_erasure", _("donor data erased")
    STAGE = "stage", _("stage started or cancelled")
    PLEDGE_CHARGE = "pledge_charge", _("pledge charged off session")
    CASE_CLOSURE = "case_closure", _("case closed, surplus split")
    OTHER = "other", _("other")


class MoneyAuditLog(models.Model):
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text too, so the log still says who it was after the account is deleted.
    username = models.CharField(_("username"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=MoneyAction.choices)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(
        _("from address"),
        null=True,
        blank=True,
        help_text=_("The client address of the staff member's request (core/client_ip.py)."),
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("money audit entry")
        verbose_name_plural = _("money audit log")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or '?'} {self.action} {self.object_repr}"
