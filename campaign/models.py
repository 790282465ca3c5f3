from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField
from djmoney.money import Money

CURRENCY = "CAD"


def cad(amount: Decimal | int | str) -> Money:
    """A CAD amount, quantized to the cent with explicit half-up rounding."""
    return Money(Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), CURRENCY)


def money_field(**kwargs: object) -> MoneyField:
    kwargs.setdefault("default", Decimal("0.00"))
    return MoneyField(
        max_digits=14,
        decimal_places=2,
        default_currency=CURRENCY,
        currency_choices=[(CURRENCY, "CAD")],
        **kwargs,  # type: ignore[arg-type]
    )


class CampaignQuerySet(models.QuerySet["Campaign"]):
    def active(self) -> CampaignQuerySet:
        return self.filter(is_active=True)


class Campaign(models.Model):
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    summary = models.CharField(
        _("summary"), max_length=300, blank=True, help_text=_("One sentence shown under the title.")
    )
    story = models.TextField(_("story"), help_text=_("Markdown. Raw HTML and scripts are removed."))
    legal_cost = money_field(
        verbose_name=_("total legal cost"),
        help_text=_("Confirmed legal fees for the case, in CAD."),
    )
    community_goal = money_field(
        verbose_name=_("community goal"),
        help_text=_("The part of the legal cost asked of members; the organizer covers the rest."),
    )
    hourly_rate = money_field(
        verbose_name=_("lawyer's hourly rate"), help_text=_("What one hour of legal work costs.")
    )
    organizer_name = models.CharField(
        _("organizer"), max_length=120, blank=True, help_text=_("Shown as who runs the campaign.")
    )
    starts_on = models.DateField(_("starts on"), default=timezone.localdate)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Active campaigns accept donations.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(community_goal__gte=0), name="campaign_goal_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(legal_cost__gte=0), name="campaign_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(hourly_rate__gt=0), name="campaign_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("campaign:detail", kwargs={"slug": self.slug})

    @property
    def organizer_share(self) -> Money:
        """What the organizer pays himself: the legal cost not asked of members."""
        share = self.legal_cost.amount - self.community_goal.amount
        return cad(max(share, Decimal("0")))

    def hours_for(self, amount: Money) -> Decimal:
        """Lawyer hours an amount pays for, to the hundredth of an hour, never overstated."""
        if self.hourly_rate.amount <= 0:
            return Decimal("0")
        return (amount.amount / self.hourly_rate.amount).quantize(
            Decimal("0.01"), rounding=ROUND_DOWN
        )

    def minutes_for(self, amount: Money) -> int:
        """Whole minutes of legal work an amount pays for, rounded down: never promise more."""
        if self.hourly_rate.amount <= 0:
            return 0
        return int((amount.amount * 60 / self.hourly_rate.amount).to_integral_value(ROUND_DOWN))


class Update(models.Model):
    """A post by the organizer about the case."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="updates")
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80)
    body = models.TextField(_("body"), help_text=_("Markdown. Raw HTML and scripts are removed."))
    is_published = models.BooleanField(
        _("published"),
        default=False,
        help_text=_("Drafts are never shown. A published update appears at its publish time."),
    )
    published_at = models.DateTimeField(_("publish time"), default=timezone.now, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("update")
        verbose_name_plural = _("updates")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "slug"], name="update_slug_per_campaign")
        ]
        indexes = [models.Index(fields=["campaign", "is_published", "-published_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "campaign:update_detail", kwargs={"slug": self.campaign.slug, "update": self.slug}
        )

    @property
    def is_visible(self) -> bool:
        return self.is_published and self.published_at <= timezone.now()
