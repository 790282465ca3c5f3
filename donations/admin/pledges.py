"""Admin for case stages, pledges and closing the case. Imported by `donations.admin`.

Stage activation and cancellation, and closing the case, each go through a confirmation page:
they charge cards, release pledges or send refunds.
"""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from campaign.models import Campaign, Stage, StageState
from core.formatting import money_format
from core.forms import parse_amount
from core.money import cad
from donations.models import PLEDGE_OPEN_STATES, CaseClosure, Pledge, PledgeState, SurplusShare
from donations.selectors import stages as stage_selectors
from donations.services import pledges, stages, surplus

SHOWN_COUNTS = (
    PledgeState.PLEDGED,
    PledgeState.CHARGING,
    PledgeState.CHARGED,
    PledgeState.NEEDS_ACTION,
    PledgeState.FAILED,
    PledgeState.CANCELLED,
    PledgeState.RELEASED,
)


class StageAdminForm(forms.ModelForm):
    """Activating or cancelling charges or releases cards: only the confirmed actions may do it."""

    class Meta:
        model = Stage
        fields = (
            "campaign", "position", "title", "title_fr", "description", "description_fr", "state",
            "estimated_hours",
            "flat_amount", "spent", "all_or_nothing", "pledge_target", "pledge_deadline",
        )  # fmt: skip

    def clean_state(self) -> str:
        state: str = self.cleaned_data["state"]
        before = self.instance.state if self.instance.pk else None
        if state == before:
            return state
        if state in (StageState.ACTIVE, StageState.CANCELLED) or (
            before == StageState.POSSIBLE
            and self.instance.pledges.filter(state__in=PLEDGE_OPEN_STATES).exists()
        ):
            raise forms.ValidationError(
                _("Use the “Activate” or “Cancel” action of the stage list: it asks to confirm.")
            )
        return state


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ("title", "campaign", "position", "state", "estimate_display", "pledge_summary")
    list_filter = ("campaign", "state")
    list_select_related = ("campaign",)
    ordering = ("campaign", "position", "id")
    readonly_fields = ("pledge_counts", "activated_at", "cancelled_at", "deadline_missed_at")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "campaign",
                    "position",
                    ("title", "title_fr"),
                    ("description", "description_fr"),
                    "state",
                )
            },
        ),
        (_("Estimate"), {"fields": ("estimated_hours", "flat_amount", "spent")}),
        (
            _("Pledges"),
            {
                "fields": (
                    "all_or_nothing",
                    "pledge_target",
                    "pledge_deadline",
                    "pledge_counts",
                    "deadline_missed_at",
                    "activated_at",
                    "cancelled_at",
                )
            },
        ),
    )
    actions = ("activate_stages", "cancel_stages")

    form = StageAdminForm

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ("campaign",)
        return fields

    @admin.display(description=_("estimate"))
    def estimate_display(self, obj: Stage) -> str:
        return money_format(obj.estimate)

    @admin.display(description=_("pledges"))
    def pledge_summary(self, obj: Stage) -> str:
        counts = stage_selectors.stage_pledge_counts(stage=obj)
        return ", ".join(
            f"{PledgeState(state).label}: {counts[state][0]}"
            for state in SHOWN_COUNTS
            if counts[state][0]
        )

    @admin.display(description=_("pledges by state"))
    def pledge_counts(self, obj: Stage) -> str:
        if obj.pk is None:
            return "—"
        counts = stage_selectors.stage_pledge_counts(stage=obj)
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            (
                (PledgeState(state).label, counts[state][0], money_format(counts[state][1]))
                for state in SHOWN_COUNTS
            ),
        )
        return format_html("<table>{}</table>", rows)

    def _confirm(
        self, request: HttpRequest, queryset: QuerySet[Stage], *, action: str, title: str
    ) -> HttpResponse:
        rows = []
        for stage in queryset:
            counts = stage_selectors.stage_pledge_counts(stage=stage)
            rows.append((stage, counts[PledgeState.PLEDGED]))
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "rows": rows,
            "action": action,
            "queryset": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/donations/stage_confirm.html", context)

    @admin.action(description=_("Activate the selected stages (charges their pledges)"))
    def activate_stages(self, request: HttpRequest, queryset: QuerySet[Stage]) -> Any:
        if request.POST.get("confirm") != "yes":
            return self._confirm(
                request,
                queryset,
                action="activate_stages",
                title=str(_("Activate stages and charge their pledges?")),
            )
        for stage in queryset:
            try:
                stages.stage_activate(stage_id=stage.pk, user=request.user)
            except pledges.PledgeError as error:
                self.message_user(request, f"{stage}: {error}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(stage)s is active; its pledges are being charged.") % {"stage": stage},
                )
        return None

    @admin.action(description=_("Cancel the selected stages (releases their pledges)"))
    def cancel_stages(self, request: HttpRequest, queryset: QuerySet[Stage]) -> Any:
        if request.POST.get("confirm") != "yes":
            return self._confirm(
                request,
                queryset,
                action="cancel_stages",
                title=str(_("Cancel stages and release their pledges?")),
            )
        for stage in queryset:
            released = stages.stage_cancel(stage_id=stage.pk, user=request.user)
            self.message_user(
                request,
                _("%(stage)s is cancelled; %(n)d pledges released.")
                % {"stage": stage, "n": len(released)},
            )
        return None


@admin.register(Pledge)
class PledgeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "stage", "amount", "state", "email", "attempts", "last_error")
    list_filter = ("state", "stage__campaign", "stage")
    search_fields = ("email", "display_name", "payment_intent_id", "customer_id", "public_id")
    list_select_related = ("stage",)
    readonly_fields = [f.name for f in Pledge._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SurplusShareInline(admin.TabularInline):
    model = SurplusShare
    extra = 0
    can_delete = False
    fields = ("donation", "donor", "amount", "outcome", "refund", "error")
    readonly_fields = fields
    verbose_name_plural = _("shares of the surplus (offline gifts: repay by hand)")

    @admin.display(description=_("donor"))
    def donor(self, obj: SurplusShare) -> str:
        d = obj.donation
        return f"{d.display_name or '—'} <{d.email or '—'}> · {d.get_channel_display()}"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CaseClosure)
class CaseClosureAdmin(admin.ModelAdmin):
    """ "Add" is the closing flow: recovered amount → preview → confirm."""

    list_display = (
        "campaign",
        "closed_at",
        "surplus",
        "refunded",
        "given",
        "state",
        "share_counts",
    )
    readonly_fields = [f.name for f in CaseClosure._meta.fields] + ["share_counts", "balance"]
    inlines = (SurplusShareInline,)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("refund outcomes"))
    def share_counts(self, obj: CaseClosure) -> str:
        counts = surplus.closure_outcomes(closure_id=obj.pk)
        return ", ".join(f"{name}: {n}" for name, n in sorted(counts.items())) or "—"

    @admin.display(description=_("balance"))
    def balance(self, obj: CaseClosure) -> str:
        return money_format(obj.balance)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        campaigns = Campaign.objects.filter(closure__isnull=True).order_by("title")
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": _("Close the case"),
            "opts": self.model._meta,
            "campaigns": campaigns,
        }
        if request.method != "POST":
            return TemplateResponse(request, "admin/donations/case_close.html", context)
        raw_campaign = str(request.POST.get("campaign") or "")
        # A tampered or stale form (not an id) gets the same clear error as a closed campaign.
        campaign = (
            campaigns.filter(pk=int(raw_campaign)).first()
            if raw_campaign.isascii() and raw_campaign.isdigit() and len(raw_campaign) < 19
            else None
        )
        try:
            # The same strict parser as the donation form: digits and at most two decimals.
            recovered = parse_amount(request.POST.get("recovered") or "0")
        except ValidationError:
            context["error"] = _("Enter the money recovered as an amount like 1200 or 1200.50.")
            return TemplateResponse(request, "admin/donations/case_close.html", context, status=400)
        if campaign is None:
            context["error"] = _("Choose a campaign that is not closed yet.")
            return TemplateResponse(request, "admin/donations/case_close.html", context, status=400)
        preview = surplus.surplus_preview(campaign=campaign, recovered=cad(recovered))
        context.update({"campaign": campaign, "preview": preview, "recovered": recovered})
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(request, "admin/donations/case_close.html", context)
        try:
            expected = cad(request.POST.get("expected_surplus") or "0")
        except (InvalidOperation, ValueError):
            expected = cad(-1)  # never matches: the preview is shown again
        try:
            closure = surplus.case_close(
                campaign=campaign,
                recovered=cad(recovered),
                expected_surplus=expected,
                user=request.user,
            )
        except surplus.ClosureError as error:
            context["error"] = str(error)
            return TemplateResponse(request, "admin/donations/case_close.html", context, status=409)
        self.message_user(request, _("The case is closed; refunds are on their way."))
        return HttpResponseRedirect(
            reverse("admin:donations_caseclosure_change", args=[closure.pk])
        )
