from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django.db import models
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from core.money import MoneyManager, cad, money_field


class CampaignQuerySet(models.QuerySet["Campaign"]):
    def active(self) -> CampaignQuerySet:
        return self.filter(is_active=True)


CampaignManager = MoneyManager.from_queryset(CampaignQuerySet)


class FrenchContent(models.Model):
    """Organizer-written text kept in English and, optionally, in French (`<field>_fr`).

    The reader's language is the active one at the time of reading (the page's, or the one an
    email is rendered under), so one object serves both sites and every email.
    """

    class Meta:
        abstract = True

    def localized(self, field: str) -> str:
        """The French version of `field` when French is active and it is filled, else English."""
        if (translation.get_language() or "").startswith("fr"):
            french = getattr(self, f"{field}_fr", "")
            if french and french.strip():
                return str(french)
        return str(getattr(self, field))

    @property
    def title_local(self) -> str:
        return self.localized("title")


class Campaign(FrenchContent):
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    summary = models.CharField(
        _("summary"), max_length=300, blank=True, help_text=_("One sentence shown under the title.")
    )
    story = models.TextField(_("story"), help_text=_("Markdown. Raw HTML and scripts are removed."))
    title_fr = models.CharField(
        _("title (French)"), max_length=200, blank=True, help_text=_("Empty: the English is shown.")
    )
    summary_fr = models.CharField(
        _("summary (French)"),
        max_length=300,
        blank=True,
        help_text=_("Empty: the English is shown."),
    )
    story_fr = models.TextField(
        _("story (French)"),
        blank=True,
        help_text=_("Markdown, like the story. Empty: the English is shown."),
    )
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
    member_count = models.PositiveIntegerField(
        _("community size"),
        default=0,
        help_text=_("Members of the community the campaign speaks to (e.g. 46,000); 0 hides it."),
    )
    surplus_rule = models.CharField(
        _("surplus rule"),
        max_length=8,
        choices=[("refund", _("Refund donors pro rata")), ("cause", _("Give it to a named cause"))],
        default="refund",
        help_text=_(
            "What happens to money not needed for the case. Chosen before the first donation; "
            "it cannot change once a donation has counted."
        ),
    )
    surplus_cause = models.CharField(
        _("named cause"),
        max_length=200,
        blank=True,
        help_text=_(
            "Who receives the surplus under the cause rule, and under the refund rule whatever "
            "cannot be refunded (shares below the minimum when no donor reaches it)."
        ),
    )
    surplus_minimum = money_field(
        verbose_name=_("minimum refund"),
        default=Decimal("5.00"),
        help_text=_("Refund shares below this amount are not sent; see the surplus rule."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CampaignManager()

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
    def summary_local(self) -> str:
        return self.localized("summary")

    @property
    def story_local(self) -> str:
        return self.localized("story")

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


class Update(FrenchContent):
    """A post by the organizer about the case."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="updates")
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80)
    body = models.TextField(_("body"), help_text=_("Markdown. Raw HTML and scripts are removed."))
    title_fr = models.CharField(
        _("title (French)"), max_length=200, blank=True, help_text=_("Empty: the English is shown.")
    )
    body_fr = models.TextField(
        _("body (French)"),
        blank=True,
        help_text=_("Markdown, like the body. Empty: the English is shown."),
    )
    is_published = models.BooleanField(
        _("published"),
        default=False,
        help_text=_("Drafts are never shown. A published update appears at its publish time."),
    )
    published_at = models.DateTimeField(_("publish time"), default=timezone.now, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set once when the email fan-out starts, so a scheduled post is mailed once, at its time.
    fanout_started_at = models.DateTimeField(
        _("emailing started"), null=True, blank=True, editable=False
    )

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
    def body_local(self) -> str:
        return self.localized("body")

    @property
    def is_visible(self) -> bool:
        return self.is_published and self.published_at <= timezone.now()


class SubscriberState(models.TextChoices):
    PENDING = "pending", _("waiting for confirmation")
    CONFIRMED = "confirmed", _("confirmed")
    UNSUBSCRIBED = "unsubscribed", _("unsubscribed")


class Subscriber(models.Model):
    """Someone who asked for the campaign's updates by email (double opt-in)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="subscribers")
    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=8, default="en")
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=SubscriberState.choices,
        default=SubscriberState.PENDING,
        help_text=_("Only confirmed subscribers receive updates."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "email"], name="subscriber_unique_email")
        ]
        indexes = [models.Index(fields=["campaign", "state"], name="subscriber_state_idx")]

    def __str__(self) -> str:
        return self.email


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class UpdateDelivery(models.Model):
    """One update to one subscriber. The unique pair is what makes every email go at most once."""

    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        help_text=_(
            "Sending: handed to the mail server when a worker stopped; never sent again, so "
            "nobody gets the update twice."
        ),
    )
    error = models.TextField(_("error"), blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("update delivery")
        verbose_name_plural = _("update deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["update", "subscriber"], name="delivery_once_per_subscriber"
            )
        ]
        indexes = [models.Index(fields=["update", "status"], name="delivery_status_idx")]

    def __str__(self) -> str:
        return f"{self.update_id} → {self.subscriber_id}: {self.status}"


class LegalCostKind(models.TextChoices):
    INVOICE = "invoice", _("invoice")
    RETAINER = "retainer", _("retainer")
    DISBURSEMENT = "disbursement", _("disbursement (court fees, filings)")


class LegalCost(models.Model):
    """One line of the case's legal-cost ledger: hours × rate, or a flat amount."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="legal_costs")
    date = models.DateField(_("date"), default=timezone.localdate)
    kind = models.CharField(
        _("kind"), max_length=12, choices=LegalCostKind.choices, default=LegalCostKind.INVOICE
    )
    description = models.CharField(_("description"), max_length=300)
    hours = models.DecimalField(
        _("hours"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Hours billed. Leave empty for a flat amount."),
    )
    rate = money_field(
        verbose_name=_("hourly rate"),
        null=True,
        blank=True,
        default=None,
        help_text=_("Rate for these hours, in CAD. Empty: the campaign's hourly rate."),
    )
    flat_amount = money_field(
        verbose_name=_("flat amount"),
        null=True,
        blank=True,
        default=None,
        help_text=_("A fixed amount in CAD, when the line is not billed by the hour."),
    )
    amount = money_field(
        verbose_name=_("amount"),
        editable=False,
        help_text=_("hours × rate (rounded half up to the cent), or the flat amount."),
    )
    is_paid = models.BooleanField(_("paid"), default=False)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    is_private = models.BooleanField(
        _("private"),
        default=False,
        help_text=_("The amount still counts in public; the description and hours are hidden."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Declared so type checkers see the manager django-money wraps at class creation.
    objects = MoneyManager()

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("legal cost")
        verbose_name_plural = _("legal-cost ledger")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="legal_cost_positive")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.description}"

    def computed_amount(self) -> Money:
        if self.hours is not None:
            rate = self.rate if self.rate is not None else self.campaign.hourly_rate
            return cad(Decimal(self.hours) * rate.amount)
        if self.flat_amount is not None:
            return cad(self.flat_amount.amount)
        return cad(0)


class GoalChange(models.Model):
    """A dated line of the goal's history: what the total legal cost was, what it became, why."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="goal_changes")
    changed_at = models.DateTimeField(default=timezone.now)
    old_legal_cost = money_field(verbose_name=_("legal cost before"))
    new_legal_cost = money_field(verbose_name=_("legal cost after"))
    reason = models.CharField(_("reason"), max_length=300)
    # The ledger's last line went: the legal cost went back to the figure the organizer typed.
    # Marks where the next ledger's history starts, even when the figure did not change.
    closes_ledger = models.BooleanField(_("ledger emptied"), default=False)

    objects = MoneyManager()

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("goal change")
        verbose_name_plural = _("goal history")

    def __str__(self) -> str:
        return f"{self.changed_at:%Y-%m-%d}: {self.old_legal_cost} → {self.new_legal_cost}"


class StageState(models.TextChoices):
    FUNDING = "funding", _("funding now")
    POSSIBLE = "possible", _("possible next")
    ACTIVE = "active", _("active")
    CANCELLED = "cancelled", _("cancelled")
    DONE = "done", _("done")


class Stage(FrenchContent):
    """One step of the legal fight, with its estimated cost ("trial preparation, about 40 hours").

    Donations fund the stage being funded now; members may pledge toward a possible next stage,
    and those pledges are charged only if the admin activates it.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveIntegerField(_("order"), default=0)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    title_fr = models.CharField(
        _("title (French)"), max_length=200, blank=True, help_text=_("Empty: the English is shown.")
    )
    description_fr = models.TextField(
        _("description (French)"), blank=True, help_text=_("Empty: the English is shown.")
    )
    estimated_hours = models.DecimalField(
        _("estimated hours"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Hours of legal work, priced at the campaign's hourly rate."),
    )
    flat_amount = money_field(
        verbose_name=_("flat estimate"),
        help_text=_("Used when no hours are given: a fixed cost in CAD (court fees, experts)."),
    )
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=StageState.choices,
        default=StageState.POSSIBLE,
        help_text=_("Only a possible next stage takes pledges; activating it charges them."),
    )
    all_or_nothing = models.BooleanField(
        _("all or nothing"),
        default=False,
        help_text=_("Pledges are charged only if the pledge target is reached by the deadline."),
    )
    pledge_target = money_field(
        verbose_name=_("pledge target"), help_text=_("For all-or-nothing stages, in CAD.")
    )
    pledge_deadline = models.DateTimeField(_("pledge deadline"), null=True, blank=True)
    deadline_missed_at = models.DateTimeField(null=True, blank=True, editable=False)
    spent = money_field(
        verbose_name=_("spent"),
        help_text=_("What this stage actually cost, for the final accounts."),
    )
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Declared so type checkers see the manager django-money wraps at class creation.
    objects = MoneyManager()

    class Meta:
        ordering = ["campaign", "position", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(flat_amount__gte=0), name="stage_flat_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(spent__gte=0), name="stage_spent_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def description_local(self) -> str:
        return self.localized("description")

    @property
    def estimate(self) -> Money:
        """Hours × the campaign's hourly rate when hours are given, else the flat amount."""
        if self.estimated_hours is not None:
            return cad(self.estimated_hours * self.campaign.hourly_rate.amount)
        return cad(self.flat_amount.amount)

    @property
    def takes_pledges(self) -> bool:
        return self.state == StageState.POSSIBLE and not self.deadline_passed

    @property
    def deadline_passed(self) -> bool:
        return self.pledge_deadline is not None and self.pledge_deadline <= timezone.now()
