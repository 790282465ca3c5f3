"""Donors' personal data on request (PIPEDA): export it, or erase it while keeping the amounts.

Erasure blanks the name, message and email of every donation by that email, marks them anonymous,
and scrubs contact details from the stored Stripe events. Amounts, states and dates stay, so the
campaign's accounts and totals do not change; the donor count stays exact through a random key.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.apps import apps
from django.db import models, transaction

from audit.models import MoneyAction
from audit.services import audit_record
from campaign.models import Subscriber
from core.signals import public_content_changed
from donations.models import ERASED_KEY_PREFIX, Donation, DonorTally, StripeEvent, donor_key_for

CONTACT_KEYS = {"customer_email", "receipt_email", "email"}
CONTACT_BLOCKS = {"customer_details", "billing_details", "shipping", "shipping_details"}


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


@transaction.atomic
def donor_data_erase(*, email: str, user: Any = None) -> dict[str, int]:
    """Erase one donor's personal data; amounts and totals are untouched."""
    donations = list(_donations(email).select_for_update())
    events = _events(email, [d.pk for d in donations])
    pseudonym = f"{ERASED_KEY_PREFIX}{uuid.uuid4().hex}"
    for old_key, campaign_id in {(d.donor_key, d.campaign_id) for d in donations if d.donor_key}:
        # Move the donor's tally to the new key so the distinct-donor count does not change.
        DonorTally.objects.filter(campaign_id=campaign_id, donor_key=old_key).update(
            donor_key=pseudonym
        )
    Donation.objects.filter(pk__in=[d.pk for d in donations]).update(
        display_name="", message="", email="", anonymous=True, donor_key=pseudonym
    )
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
            if isinstance(field, models.EmailField) or field.name == "display_name"
        }
        type(row)._default_manager.filter(pk=row.pk).update(**blanked)
    result = {"donations": len(donations), "stripe_events": len(events), "other_records": others}
    # The updates above send no post_save: the public pages showing the donor drop on commit.
    public_content_changed.send(sender=Donation)
    audit_record(user=user, action=MoneyAction.DATA_ERASURE, obj=None, detail={"erased": result})
    return result
