"""Monthly gifts in the admin: read-only rows (Stripe's events move them), and one action, stop
at period end through Stripe, as the donor's own page does."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_lazy

from donations import gateway, services
from donations.models import MonthlyGift, MonthlyStatus


@admin.register(MonthlyGift)
class MonthlyGiftAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "campaign", "amount", "status", "until_covered", "display_name",
        "current_period_end",
    )  # fmt: skip
    list_filter = ("status", "until_covered", "campaign")
    search_fields = ("email", "display_name", "subscription_id", "customer_id")
    date_hierarchy = "created_at"
    actions = ("stop_at_period_end",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Stripe's subscription is the truth: a row changes only through the services.
        return [f.name for f in MonthlyGift._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Stop at the end of the paid month (through Stripe)"))
    def stop_at_period_end(self, request: HttpRequest, queryset: QuerySet[MonthlyGift]) -> None:
        stopped = 0
        running = (MonthlyStatus.ACTIVE, MonthlyStatus.PAST_DUE, MonthlyStatus.PENDING)
        for gift in queryset.filter(status__in=running):
            try:
                services.monthly_cancel(gift_id=gift.pk, actor="admin")
                stopped += 1
            except gateway.GatewayError as error:
                self.message_user(request, f"{gift}: {error}", messages.ERROR)
        self.message_user(
            request, gettext("%(n)s monthly gifts will stop.") % {"n": stopped}, messages.SUCCESS
        )
