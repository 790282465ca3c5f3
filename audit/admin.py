from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import MoneyAuditLog


@admin.register(MoneyAuditLog)
class MoneyAuditLogAdmin(admin.ModelAdmin):
    """Read-only: the log is evidence, so nobody edits or deletes it from the admin."""

    list_display = ("at", "username", "ip_address", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type")
    search_fields = ("username", "object_repr", "object_id")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in MoneyAuditLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
