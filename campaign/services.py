"""Writes for campaigns and updates."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core import mail, signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext
from djmoney.money import Money

from config.db import commit_without_waiting_for_disk

from .formatting import money_format
from .models import (
    Campaign,
    DeliveryStatus,
    GoalChange,
    LegalCost,
    Stage,
    StageState,
    Subscriber,
    SubscriberState,
    Update,
    UpdateDelivery,
    cad,
)

logger = logging.getLogger(__name__)

DEMO_SLUG = "legal-defense-fund"

DEMO_STORY = """\
**Maple Swarm**, a one-year-old file-sharing forum with **46,000 members** in Quebec, has received
cease-and-desist letters from four record labels. They demand that we close the site, promise never
to run a similar service again, and post a notice telling you that sharing music is forbidden.

We are not taking this lying down. We have a lawyer, and we are going to answer in court.

- Our lawyer bills **$250 an hour**.
- The fees confirmed so far come to **$2,000**.
- We are asking the members for **$1,500**; the administrator pays the rest himself.

What is at stake is bigger than one forum. If we lose, the labels get a precedent to go after every
peer-to-peer community in Canada. If we win, that precedent works for all of us.

Without your help the choice is simple: close the site. Every dollar here goes to legal fees, and
this page shows where each one goes. Stay tuned: updates will follow as the case moves.
"""

DEMO_UPDATE = """\
The letters arrived from four labels this week. Our lawyer has reviewed them, and his fees to
answer are confirmed at **$2,000**. The administrator covers $500; we are asking you for $1,500.

At $250 an hour, every $25 pays for six minutes of legal work. We will post here as soon as the
lawyer sends our answer. Stay tuned, updates to follow.
"""

# The demo in Quebec French, with the no-break spaces of French typography (`2 000 $`, `simple :`).
DEMO_FR = {
    "title": "Fonds de défense juridique de Maple Swarm",
    "summary": (
        "Aidez un forum québécois de 46\u00a0000 membres à répondre en cour à une mise en demeure."
    ),
    "story": """\
**Maple Swarm**, un forum de partage de fichiers d’un an qui compte **46\u00a0000 membres** au
Québec, a reçu des mises en demeure de quatre maisons de disques. Elles exigent qu’on ferme le site,
qu’on s’engage à ne plus jamais exploiter un service semblable et qu’on publie un avis vous disant
que le partage de musique est interdit.

On ne se laissera pas faire. On a un avocat, et on va répondre devant le tribunal.

- Notre avocat facture **250\u00a0$ de l’heure**.
- Les honoraires confirmés jusqu’ici s’élèvent à **2\u00a0000\u00a0$**.
- On demande **1\u00a0500\u00a0$** aux membres; l’administrateur paie le reste de sa poche.

L’enjeu dépasse un seul forum. Si on perd, les maisons de disques obtiennent un précédent pour s’en
prendre à toutes les communautés pair-à-pair au Canada. Si on gagne, ce précédent profite à tous.

Sans votre aide, le choix est simple\u00a0: fermer le site. Chaque dollar donné ici va aux frais
juridiques, et cette page montre où va chacun. Restez à l’affût\u00a0: d’autres nouvelles suivront à
mesure que le dossier avance.
""",
    "update_title": "Mise en demeure reçue\u00a0: on se bat",
    "update_body": """\
Les lettres de quatre maisons de disques sont arrivées cette semaine. Notre avocat les a examinées,
et ses honoraires pour y répondre sont confirmés à **2\u00a0000\u00a0$**. L’administrateur assume
500\u00a0$; on vous demande 1\u00a0500\u00a0$.

À 250\u00a0$ de l’heure, chaque tranche de 25\u00a0$ paie six minutes de travail juridique. On
publiera ici dès que l’avocat aura envoyé notre réponse. Restez à l’affût, d’autres nouvelles
suivront.
""",
}

# The demo's stages: English title → (English description, French title, French description).
DEMO_STAGES = {
    "Answer to the cease-and-desist letters": (
        "Our lawyer reviews the four letters and answers them.",
        "Réponse aux mises en demeure",
        "Notre avocat examine les quatre lettres et y répond.",
    ),
    "Trial preparation": (
        "Only if the labels sue: about 40 hours of work at $250 an hour.",
        "Préparation du procès",
        "Seulement si les maisons de disques nous poursuivent\u00a0: environ 40\u00a0heures de "
        "travail à 250\u00a0$ de l’heure.",
    ),
}


def _fill_empty(obj: Campaign | Update | Stage, values: dict[str, str]) -> None:
    """Write the French text into the fields still empty: an organizer's own wording stays."""
    changed = [name for name, value in values.items() if not getattr(obj, name)]
    for name in changed:
        setattr(obj, name, values[name])
    if changed:
        obj.save(update_fields=changed)


@transaction.atomic
def campaign_seed_demo() -> tuple[Campaign, bool]:
    """Create the demo campaign and its first update; running it again changes nothing."""
    campaign, created = Campaign.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "title": "Maple Swarm Legal Defense Fund",
            "summary": "Help a 46,000-member Quebec forum answer a cease-and-desist in court.",
            "story": DEMO_STORY,
            "title_fr": DEMO_FR["title"],
            "summary_fr": DEMO_FR["summary"],
            "story_fr": DEMO_FR["story"],
            "legal_cost": cad(Decimal("2000.00")),
            "community_goal": cad(Decimal("1500.00")),
            "hourly_rate": cad(Decimal("250.00")),
            "organizer_name": "The Maple Swarm administrator",
            "starts_on": timezone.localdate(),
            "is_active": True,
            "member_count": 46000,
        },
    )
    if not created:
        # A campaign seeded before the French fields existed gets them now, once.
        _fill_empty(
            campaign,
            {
                "title_fr": DEMO_FR["title"],
                "summary_fr": DEMO_FR["summary"],
                "story_fr": DEMO_FR["story"],
            },
        )
    if not Stage.objects.filter(campaign=campaign).exists():
        # The fight in stages: the answer is funded now; a trial only if the labels sue.
        for position, (title, hours, state) in enumerate(
            (
                ("Answer to the cease-and-desist letters", "8", StageState.FUNDING),
                ("Trial preparation", "40", StageState.POSSIBLE),
            ),
            start=1,
        ):
            description, title_fr, description_fr = DEMO_STAGES[title]
            Stage.objects.create(
                campaign=campaign,
                position=position,
                title=title,
                description=description,
                title_fr=title_fr,
                description_fr=description_fr,
                estimated_hours=Decimal(hours),
                state=state,
            )
    else:
        for stage in Stage.objects.filter(campaign=campaign, title__in=DEMO_STAGES):
            _, title_fr, description_fr = DEMO_STAGES[stage.title]
            _fill_empty(stage, {"title_fr": title_fr, "description_fr": description_fr})
    update, update_created = Update.objects.get_or_create(
        campaign=campaign,
        slug="letters-received",
        defaults={
            "title": "Cease-and-desist received: we are fighting it",
            "body": DEMO_UPDATE,
            "title_fr": DEMO_FR["update_title"],
            "body_fr": DEMO_FR["update_body"],
            "is_published": True,
            "published_at": timezone.now(),
        },
    )
    if not update_created:
        _fill_empty(
            update, {"title_fr": DEMO_FR["update_title"], "body_fr": DEMO_FR["update_body"]}
        )
    if not LegalCost.objects.filter(campaign=campaign).exists():
        # The confirmed fees as a ledger line: 8 hours at $250 to answer the letters ($2,000).
        LegalCost.objects.create(
            campaign=campaign,
            kind="retainer",
            description="Retainer: answer to the cease-and-desist letters",
            hours=Decimal("8.00"),
            rate=cad(campaign.hourly_rate.amount),
            amount=cad(Decimal("8.00") * campaign.hourly_rate.amount),
        )
        legal_cost_sync(campaign_id=campaign.pk, reason="Retainer recorded")
    return campaign, created


MILESTONES = (25, 50, 75, 100)


def milestones_reached(*, percent: Decimal) -> list[int]:
    """The milestones (percent of the community goal) a total has reached."""
    return [m for m in MILESTONES if percent >= m]


def milestone_drafts_prepare(*, campaign: Campaign, percent: Decimal) -> list[int]:
    """A draft update per milestone reached, for the organizer to edit and publish; idempotent.

    Drafts are never shown until the organizer publishes them. The draft's slug names the milestone,
    so a second crossing (after a refund dips the total) prepares nothing new.
    """
    reached = milestones_reached(percent=percent)
    if not reached:
        return []
    slugs = {f"milestone-{m}": m for m in reached}
    existing = set(
        Update.objects.filter(campaign=campaign, slug__in=slugs).values_list("slug", flat=True)
    )
    created = []
    # Drafts are written in the site's default language, whoever's payment crossed the line.
    with translation.override(settings.LANGUAGE_CODE):
        goal = money_format(campaign.community_goal)
    for slug, milestone in slugs.items():
        if slug in existing:
            continue
        title = (
            f"We reached the community goal of {goal}!"
            if milestone == 100
            else f"{milestone}% of the community goal raised"
        )
        body = (
            f"Thanks to you, {milestone}% of the {goal} asked of members has been raised.\n\n"
            "(Draft prepared automatically: edit it, then tick *published*.)"
        )
        _, was_created = Update.objects.get_or_create(
            campaign=campaign,
            slug=slug,
            defaults={"title": title, "body": body, "is_published": False},
        )
        if was_created:
            created.append(milestone)
    return created


# --- Updates: editing, publishing, emailing ------------------------------------------------

# A worker that stops between handing an email to the server and recording it leaves the delivery
# "sending"; after this long it is reported failed and never retried, so nobody gets it twice.
STALE_SENDING = timedelta(minutes=30)
RESEND_CONFIRMATION_AFTER = timedelta(minutes=10)


@transaction.atomic
def update_save(*, update: Update, content_changed: bool) -> Update:
    """Save an update from the admin; a visible post whose text changes is marked edited.

    Once the update is visible (published and its time has come) its emails go out in the
    background; a scheduled post is picked up by `updates_due` when its time comes.
    """
    previous = Update.objects.filter(pk=update.pk).first() if update.pk else None
    if previous is not None and previous.is_visible and content_changed:
        update.edited_at = timezone.now()
    update.save()
    if update.is_visible and update.fanout_started_at is None:
        from .tasks import update_fanout

        update_id = update.pk
        transaction.on_commit(lambda: update_fanout.delay(update_id))
    return update


def updates_due() -> list[int]:
    """Visible updates whose emails have not started: scheduled posts whose time has come."""
    return list(
        Update.objects.filter(
            is_published=True, published_at__lte=timezone.now(), fanout_started_at__isnull=True
        ).values_list("pk", flat=True)
    )


def update_fanout_start(*, update_id: int, batch_size: int) -> list[list[int]]:
    """Make one delivery row per confirmed subscriber and return the pending ones in batches.

    Safe to run again: the unique (update, subscriber) pair keeps one row each, and only pending
    rows are returned, so a retried fan-out never queues a sent email again.
    """
    with transaction.atomic():
        update = Update.objects.select_for_update().get(pk=update_id)
        if not update.is_visible:
            return []
        if update.fanout_started_at is None:
            update.fanout_started_at = timezone.now()
            update.save(update_fields=["fanout_started_at"])
        subscriber_ids = (
            Subscriber.objects.filter(
                campaign_id=update.campaign_id, state=SubscriberState.CONFIRMED
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        UpdateDelivery.objects.bulk_create(
            [UpdateDelivery(update_id=update.pk, subscriber_id=pk) for pk in subscriber_ids],
            batch_size=1000,
            ignore_conflicts=True,
        )
    pending = list(
        UpdateDelivery.objects.filter(update_id=update_id, status=DeliveryStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]


def _delivery_claim(*, delivery_id: int) -> bool:
    """Take one pending delivery; only one worker can win it, so it is sent at most once."""
    return bool(
        UpdateDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENDING, claimed_at=timezone.now()
        )
    )


def _delivery_finish(*, delivery_id: int, status: str, error: str = "") -> None:
    with transaction.atomic():
        # The claim before sending is durable; this mark need not wait for the disk: lost in a
        # database crash, the row stays "sending" and is never sent again (at most once holds).
        commit_without_waiting_for_disk()
        UpdateDelivery.objects.filter(pk=delivery_id).update(
            status=status,
            error=error[:2000],
            sent_at=timezone.now() if status == DeliveryStatus.SENT else None,
        )


def deliveries_send(
    *,
    delivery_ids: list[int],
    build: Callable[[UpdateDelivery], EmailMessage],
    mailer: str = "default",
) -> dict[str, int]:
    """Send a batch of update emails over one mail-server connection.

    Each delivery is claimed before it is handed to the server and marked after, so a retry (or a
    second worker) skips what is done. One refused address is marked failed and the batch goes on.
    """
    outcome = {"sent": 0, "failed": 0, "skipped": 0}
    connection = mail.mailers[mailer]
    with connection:
        for delivery_id in delivery_ids:
            if not _delivery_claim(delivery_id=delivery_id):
                outcome["skipped"] += 1
                continue
            delivery = UpdateDelivery.objects.select_related("update__campaign", "subscriber").get(
                pk=delivery_id
            )
            if delivery.subscriber.state != SubscriberState.CONFIRMED:
                _delivery_finish(
                    delivery_id=delivery_id,
                    status=DeliveryStatus.FAILED,
                    error="Not sent: unsubscribed before the email went out.",
                )
                outcome["failed"] += 1
                continue
            try:
                connection.send_messages([build(delivery)])
            except smtplib.SMTPServerDisconnected as error:
                # The server hung up: this address failed; reconnect for the rest of the batch.
                _delivery_finish(
                    delivery_id=delivery_id, status=DeliveryStatus.FAILED, error=repr(error)
                )
                outcome["failed"] += 1
                connection.close()
                connection.open()
                continue
            except (smtplib.SMTPException, OSError, ValueError) as error:
                logger.warning("Update email %s failed: %r", delivery_id, error)
                _delivery_finish(
                    delivery_id=delivery_id, status=DeliveryStatus.FAILED, error=repr(error)
                )
                outcome["failed"] += 1
                continue
            _delivery_finish(delivery_id=delivery_id, status=DeliveryStatus.SENT)
            outcome["sent"] += 1
    return outcome


def deliveries_expire_stale(*, older_than: timedelta = STALE_SENDING) -> int:
    """Report deliveries a stopped worker left half-done; they are not sent again (at most once)."""
    return UpdateDelivery.objects.filter(
        status=DeliveryStatus.SENDING, claimed_at__lt=timezone.now() - older_than
    ).update(
        status=DeliveryStatus.FAILED,
        error="Interrupted: the worker stopped while sending. Not retried, to never send twice.",
    )


# --- Email subscriptions (double opt-in) ------------------------------------------------------

CONFIRM_SALT = "campaign.subscriber.confirm"
UNSUBSCRIBE_SALT = "campaign.subscriber.unsubscribe"
CONFIRM_MAX_AGE = timedelta(days=7)


def subscriber_confirm_token(*, subscriber: Subscriber) -> str:
    return signing.dumps({"s": subscriber.pk, "e": subscriber.email}, salt=CONFIRM_SALT)


def subscriber_unsubscribe_token(*, subscriber: Subscriber) -> str:
    """A link that never expires: an old email must still let its reader unsubscribe."""
    return signing.dumps({"s": subscriber.pk, "e": subscriber.email}, salt=UNSUBSCRIBE_SALT)


def _subscriber_from(token: str, *, salt: str, max_age: timedelta | None = None) -> Subscriber:
    """The subscriber a signed token names. Raises `signing.BadSignature` (expired included)."""
    data = signing.loads(token, salt=salt, max_age=max_age)
    if not isinstance(data, dict):
        raise signing.BadSignature("Unexpected token.")
    try:
        subscriber_id = int(data.get("s"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise signing.BadSignature("Unexpected token.") from error
    subscriber = (
        Subscriber.objects.select_for_update()
        .filter(pk=subscriber_id, email=str(data.get("e") or ""))
        .first()
    )
    if subscriber is None:
        raise signing.BadSignature("No such subscription.")
    return subscriber


@transaction.atomic
def subscriber_request(*, campaign: Campaign, email: str, language: str = "en") -> Subscriber:
    """Ask for updates: a confirmation link goes out; nothing is sent until it is followed.

    The answer is the same whether or not the address is known, so the form reveals nothing.
    """
    address = email.strip().lower()
    subscriber, _ = Subscriber.objects.get_or_create(
        campaign=campaign, email=address, defaults={"language": language}
    )
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.state == SubscriberState.CONFIRMED:
        return subscriber
    now = timezone.now()
    recently = subscriber.confirmation_sent_at and (
        now - subscriber.confirmation_sent_at < RESEND_CONFIRMATION_AFTER
    )
    if recently and subscriber.state == SubscriberState.PENDING:
        return subscriber  # one email per ten minutes, so the form cannot be used to flood
    subscriber.state = SubscriberState.PENDING
    subscriber.language = language
    subscriber.confirmation_sent_at = now
    subscriber.save(update_fields=["state", "language", "confirmation_sent_at"])
    from .tasks import send_subscription_confirmation

    subscriber_id = subscriber.pk
    transaction.on_commit(lambda: send_subscription_confirmation.delay(subscriber_id))
    return subscriber


def _subscriber_mark_confirmed(subscriber: Subscriber) -> Subscriber:
    if subscriber.state != SubscriberState.CONFIRMED:
        subscriber.state = SubscriberState.CONFIRMED
        subscriber.confirmed_at = timezone.now()
        subscriber.unsubscribed_at = None
        subscriber.save(update_fields=["state", "confirmed_at", "unsubscribed_at"])
    return subscriber


@transaction.atomic
def subscriber_confirm(*, token: str) -> Subscriber:
    """Follow the confirmation link. Raises `signing.BadSignature` for a bad or expired link."""
    subscriber = _subscriber_from(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    return _subscriber_mark_confirmed(subscriber)


@transaction.atomic
def subscriber_unsubscribe(*, token: str) -> Subscriber:
    """One click from any email; no login. Raises `signing.BadSignature`."""
    subscriber = _subscriber_from(token, salt=UNSUBSCRIBE_SALT)
    if subscriber.state != SubscriberState.UNSUBSCRIBED:
        subscriber.state = SubscriberState.UNSUBSCRIBED
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["state", "unsubscribed_at"])
    return subscriber


@transaction.atomic
def subscriber_resubscribe(*, token: str) -> Subscriber:
    """Undo an unsubscribe from the same signed link (it proves the address, as a confirmation)."""
    subscriber = _subscriber_from(token, salt=UNSUBSCRIBE_SALT)
    return _subscriber_mark_confirmed(subscriber)


# --- Legal-cost ledger ---------------------------------------------------------------------


def _ledger_reason(entry: LegalCost, verb: str) -> str:
    what = gettext("details private") if entry.is_private else entry.description
    return f"{verb}: {what} ({money_format(entry.amount)})"[:300]


@transaction.atomic
def legal_cost_save(*, entry: LegalCost) -> LegalCost:
    """Record or correct a ledger line; the campaign's legal cost follows, with a dated change."""
    if entry.hours is None and entry.flat_amount is None:
        raise ValueError("A ledger line needs hours or a flat amount.")
    if entry.hours is not None and entry.rate is None:
        entry.rate = cad(entry.campaign.hourly_rate.amount)
    entry.amount = entry.computed_amount()
    if entry.is_paid and entry.paid_on is None:
        entry.paid_on = timezone.localdate()
    if not entry.is_paid:
        entry.paid_on = None
    created = entry.pk is None
    moved_from = None
    if not created:
        # A line moved to another campaign leaves its old campaign's ledger too.
        previous = LegalCost.objects.filter(pk=entry.pk).values_list("campaign_id", flat=True)
        moved_from = next((pk for pk in previous if pk != entry.campaign_id), None)
    entry.save()
    legal_cost_sync(
        campaign_id=entry.campaign_id,
        reason=_ledger_reason(entry, gettext("Recorded") if created else gettext("Corrected")),
    )
    if moved_from is not None:
        legal_cost_sync(
            campaign_id=moved_from, reason=_ledger_reason(entry, gettext("Moved elsewhere"))
        )
    return entry


@transaction.atomic
def legal_cost_delete(*, entry: LegalCost) -> None:
    campaign_id = entry.campaign_id
    reason = _ledger_reason(entry, gettext("Removed"))
    entry.delete()
    legal_cost_sync(campaign_id=campaign_id, reason=reason)


def _typed_legal_cost(*, campaign: Campaign) -> Money:
    """The figure the organizer typed before the ledger's first line.

    The ledger's history starts after the last time it was emptied; its first change started from
    the typed figure (a first line at that figure changes nothing and leaves no change).
    """
    changes = GoalChange.objects.filter(campaign=campaign).order_by("id")
    emptied = changes.filter(closes_ledger=True).last()
    if emptied is not None:
        changes = changes.filter(id__gt=emptied.pk)
    first = changes.first()
    return cad((first.old_legal_cost if first is not None else campaign.legal_cost).amount)


def legal_cost_sync(*, campaign_id: int, reason: str) -> GoalChange | None:
    """Make the campaign's total legal cost the ledger's sum, keeping a dated history.

    The ledger governs once it has a line. When its last line goes (deleted or moved), the legal
    cost returns to the figure the organizer typed before the ledger's first line.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    lines = LegalCost.objects.filter(campaign_id=campaign_id)
    current = cad(campaign.legal_cost.amount)
    emptied = not lines.exists()
    if emptied:
        total = _typed_legal_cost(campaign=campaign)
    else:
        total = cad(lines.aggregate(total=Sum("amount"))["total"] or 0)
        if total == current:
            return None
    change = GoalChange.objects.create(
        campaign=campaign,
        old_legal_cost=current,
        new_legal_cost=total,
        reason=reason,
        closes_ledger=emptied,
    )
    campaign.legal_cost = total
    campaign.save(update_fields=["legal_cost", "updated_at"])
    return change
