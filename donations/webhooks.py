"""The Stripe webhook endpoint: verify, store once, enqueue on commit, answer fast."""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import jobs
from donations import gateway, services
from donations.models import EventStatus

logger = logging.getLogger(__name__)

KEPT_HEADERS = ("Stripe-Signature", "User-Agent", "Content-Type")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    signature = request.headers.get("Stripe-Signature", "")
    try:
        payload = gateway.webhook_event_parse(payload=request.body, signature=signature)
    except gateway.SignatureError as error:
        logger.warning("Rejected webhook: %s", error)
        return JsonResponse({"error": f"Invalid signature: {error}"}, status=400)
    if not isinstance(payload, dict) or not payload.get("id") or "type" not in payload:
        return JsonResponse({"error": "Not a Stripe event."}, status=400)
    headers = {name: request.headers.get(name, "") for name in KEPT_HEADERS}
    with transaction.atomic():
        event, created = services.event_record(payload=payload, headers=headers)
        if not created and event.status in (EventStatus.RECEIVED, EventStatus.FAILED):
            # Stripe redelivers what it thinks failed: let the redelivery retry an event whose
            # task was lost or failed. Processing is idempotent, so a double run is harmless.
            jobs.enqueue("donations.tasks.process_stripe_event", event.pk)
    return JsonResponse({"received": True, "duplicate": not created, "status": event.status})
