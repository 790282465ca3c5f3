"""Erasure requests from donors' pages: the organizer confirms them here, which runs the erasure
(donations.services.privacy: the money records stay, the person's details go)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from donations import gateway
from donations.models import ErasureRequest
from donations.services import donor_access, privacy


@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    list_display = ("requested_at", "email", "language", "confirmed_at", "confirmed_by")
    list_filter = (("confirmed_at", admin.EmptyFieldListFilter),)
    search_fields = ("email",)
    readonly_fields = ("email", "language", "requested_at", "confirmed_at", "confirmed_by")
    actions = ("erasure_confirm",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # donors ask from their page; `manage.py donor_data --erase` needs no request

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Confirm: erase these donors' personal data"))
    def erasure_confirm(self, request: HttpRequest, queryset: QuerySet[ErasureRequest]) -> None:
        done = 0
        for erasure in queryset.filter(confirmed_at__isnull=True):
            try:
                if donor_access.erasure_confirm(request=erasure, user=request.user) is not None:
                    done += 1
            except (privacy.ErasureRefused, gateway.GatewayError) as error:
                self.message_user(
                    request,
                    _("%(email)s not finished: %(reason)s Confirm it again to finish.")
                    % {"email": erasure.email, "reason": error},
                    messages.WARNING,
                )
        self.message_user(
            request,
            ngettext(
                "%(count)d donor's personal data erased; the amounts stay in the accounts.",
                "%(count)d donors' personal data erased; the amounts stay in the accounts.",
                done,
            )
            % {"count": done},
            messages.SUCCESS,
        )
