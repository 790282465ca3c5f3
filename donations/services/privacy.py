"""Donors' personal data on request (PIPEDA): export it, or erase it while keeping the amounts.

Erasure blanks the name, message, email and offline reference of every donation by that email,
marks them anonymous, blanks the reasons of their refunds (in the money audit log too), scrubs
contact details and dispute evidence from the stored Stripe events, and deletes the Stripe Customer
(and saved card) of each pledge. Amounts, states and dates stay, so the campaign's accounts and
totals do not change; the donor count stays exact through a random key.

A pledge not charged yet cannot be once its card is gone: erasure ends it (cancelled). One being
charged at that moment makes erasure wait (`ErasureRefused`): Stripe's answer is recorded first.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from audit.models import MoneyAction, MoneyAuditLog
from audit.services import audit_record
from campaign.models import Subscriber
from core.signals import public_content_changed
from donations import gateway
from donations.models import (
    ERASED_KEY_PREFIX,
    PLEDGE_OPEN_STATES,
    Donation,
    DonationState,
    DonorTally,
    Pledge,
    PledgeState,
    Refund,
    StripeEvent,
    donor_key_for,
)

CONTACT_KEYS = {
    "customer_email", "receipt_email", "email", "name", "phone", "customer_name",
    "customer_email_address", "customer_purchase_ip",
}  # fmt: skip
# `evidence`: what a dispute's response says about the cardholder (name, addresses, free text).
CONTACT_BLOCKS = {
    "customer_details", "billing_details", "shipping", "shipping_details", "address", "evidence",
}  # fmt: skip
# Free text in the money audit log's details that may name the donor (refund reasons, cheque notes).
AUDIT_TEXT_KEYS = ("reason", "reference")
ENDABLE_PLEDGE_STATES = (PledgeState.SETUP, *PLEDGE_OPEN_STATES)


class ErasureRefused(Exception):
    """Erasure cannot run now; the message says why and when to try again."""


def _donations(email: str) -> models.QuerySet[Donation]:
    key = donor_key_for(email)
    return Donation.objects.filter(models.Q(donor_key=key) | models.Q(email__iexact=email.strip()))


def _events(email: str, donation_ids: list[int]) -> list[StripeEvent]:
    needle = email.strip().lower()
    found = list(StripeEvent.objects.filter(donation_id__in=donation_ids))
    seen = {event.pk for event in found}
    for event in StripeEvent.objects.exclude(pk__in=seen).iterator():
        if needle in json.dumps(event.payload).lower():
            found.append(event)
    return found


def _other_rows(email: str) -> list[models.Model]:
    """Rows of other project models (subscriptions, pledges...) holding the same email."""
    rows: list[models.Model] = []
    for model in apps.get_models():
        if model in (Donation,) or model._meta.app_label not in ("campaign", "donations"):
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.EmailField):
                rows.extend(model._default_manager.filter(**{f"{field.name}__iexact": email}))
    return rows


def donor_data_export(*, email: str) -> dict[str, Any]:
    donations = list(_donations(email).select_related("campaign").order_by("created_at"))
    events = _events(email, [d.pk for d in donations])
    return {
        "email": email,
        "donations": [
            {
                "reference": str(d.public_id),
                "campaign": d.campaign.slug,
                "created_at": d.created_at.isoformat(),
                "amount": f"{d.amount.amount:.2f}",
                "refunded": f"{d.amount_refunded.amount:.2f}",
                "currency": str(d.amount.currency),
                "state": d.state,
                "display_name": d.display_name,
                "message": d.message,
                "anonymous": d.anonymous,
                "show_amount": d.show_amount,
                "email": d.email,
                "offline_reference": d.reference,
                "refund_reasons": [r.reason for r in d.refunds.all() if r.reason],
                "language": d.language,
                "receipt_sent_at": d.receipt_sent_at.isoformat() if d.receipt_sent_at else None,
            }
            for d in donations
        ],
        "stripe_events": [{"id": e.stripe_id, "type": e.type} for e in events],
        "other_records": [f"{row._meta.label}:{row.pk}" for row in _other_rows(email)],
    }


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: None if key in CONTACT_KEYS or key in CONTACT_BLOCKS else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def donor_data_erase(*, email: str, user: Any = None) -> dict[str, int]:
    """Erase one donor's personal data; amounts and totals are untouched.

    The rows are erased in one transaction; then the Stripe Customers of erased pledges are deleted
    (`erased_pledgers_forget`). If Stripe fails there, `GatewayError` is raised with the rows
    already erased: running the erasure again (any email) deletes what is left.
    Raises `ErasureRefused` while one of the donor's pledges is being charged.
    """
    result = _rows_erase(email=email, user=user)
    result["stripe_customers"] = erased_pledgers_forget()
    return result


def _pledges_end(pledges: list[Pledge]) -> None:
    """Cancel pledges not charged yet (the caller holds their locks), and their unpaid gifts."""
    ids = [p.pk for p in pledges if p.state in ENDABLE_PLEDGE_STATES]
    Pledge.objects.filter(pk__in=ids).update(state=PledgeState.CANCELLED, ended_at=timezone.now())
    Donation.objects.filter(pledge__pk__in=ids, state=DonationState.PENDING).update(
        state=DonationState.CANCELLED
    )


@transaction.atomic
def _rows_erase(*, email: str, user: Any) -> dict[str, int]:
    pledges = list(Pledge.objects.select_for_update().filter(email__iexact=email.strip()))
    if any(p.state == PledgeState.CHARGING for p in pledges):
        raise ErasureRefused(
            gettext("A pledge of this donor is being charged now: try again in a few minutes.")
        )
    _pledges_end(pledges)
    donations = list(_donations(email).select_for_update())
    events = _events(email, [d.pk for d in donations])
    pseudonym = f"{ERASED_KEY_PREFIX}{uuid.uuid4().hex}"
    for old_key, campaign_id in {(d.donor_key, d.campaign_id) for d in donations if d.donor_key}:
        # Move the donor's tally to the new key so the distinct-donor count does not change.
        DonorTally.objects.filter(campaign_id=campaign_id, donor_key=old_key).update(
            donor_key=pseudonym
        )
    donation_ids = [d.pk for d in donations]
    Donation.objects.filter(pk__in=donation_ids).update(
        display_name="", message="", email="", reference="", anonymous=True, donor_key=pseudonym
    )
    Refund.objects.filter(donation_id__in=donation_ids).update(reason="")
    _audit_text_erase(donation_ids)
    for event in events:
        event.payload = _scrub(event.payload)
        event.save(update_fields=["payload"])
    others = 0
    for row in _other_rows(email):
        others += 1
        if isinstance(row, Subscriber):
            # A subscription is only its address: erasing it is ending it (and its delivery log).
            row.delete()
            continue
        # Required or not, the address goes (a pledge with no email is simply not emailed); the
        # row stays when it carries money. A queryset update skips the form-level `blank` rule.
        blanked = {
            field.name: ""
            for field in row._meta.get_fields()
            if isinstance(field, models.EmailField) or field.name in ("display_name", "message")
        }
        type(row)._default_manager.filter(pk=row.pk).update(**blanked)
    result = {"donations": len(donations), "stripe_events": len(events), "other_records": others}
    # The updates above send no post_save: the public pages showing the donor drop on commit.
    public_content_changed.send(sender=Donation)
    audit_record(user=user, action=MoneyAction.DATA_ERASURE, obj=None, detail={"erased": result})
    return result


def _audit_text_erase(donation_ids: list[int]) -> None:
    """Blank the donor's words in the audit log's details; who, what, how much and when stay."""
    logs = MoneyAuditLog.objects.filter(
        object_type=Donation._meta.label, object_id__in=[str(pk) for pk in donation_ids]
    )
    for log in logs:
        if any(log.detail.get(key) for key in AUDIT_TEXT_KEYS):
            detail = {**log.detail, **{key: "" for key in AUDIT_TEXT_KEYS if key in log.detail}}
            MoneyAuditLog.objects.filter(pk=log.pk).update(detail=detail)


def erased_pledgers_forget() -> int:
    """Delete the Stripe Customer (and card) of every erased pledge still naming one; returns
    how many were forgotten. Each pledge is its own transaction, its row locked while Stripe is
    asked, so no charge can start meanwhile. Raises `GatewayError`: what was done stays done."""
    forgotten = 0
    erased = (
        Pledge.objects.filter(email="")
        .exclude(customer_id="")
        .exclude(state=PledgeState.CHARGING)
        .values_list("pk", flat=True)
    )
    for pledge_id in list(erased):
        with transaction.atomic():
            pledge = Pledge.objects.select_for_update().get(pk=pledge_id)
            if pledge.email or not pledge.customer_id or pledge.state == PledgeState.CHARGING:
                continue
            if pledge.state in ENDABLE_PLEDGE_STATES:  # erased before erasure ended pledges
                _pledges_end([pledge])
                pledge.state = PledgeState.CANCELLED
            if pledge.state != PledgeState.CHARGED and not pledge.detached_at:
                # An attempt waiting for the pledger (authentication, a new card) ends too.
                gateway.payment_intent_cancel(payment_intent_id=pledge.payment_intent_id)
            gateway.customer_delete(customer_id=pledge.customer_id)
            Pledge.objects.filter(pk=pledge_id).update(
                customer_id="",
                payment_method_id="",
                detached_at=pledge.detached_at or timezone.now(),
            )
            forgotten += 1
    return forgotten
