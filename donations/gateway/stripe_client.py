"""The Stripe client and the one translation of Stripe's failures into `GatewayError`.

Shared by the gateway's Stripe modules (`stripe`, `stripe_cards`); nothing else imports it.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings

from donations.gateway.types import GatewayBusy, GatewayError, GatewayRefused

logger = logging.getLogger("donations.gateway.stripe")


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def client() -> stripe.StripeClient:
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_TIMEOUT_SECONDS,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


# Stripe sends no Retry-After with its 429; its advice is to back off and try again shortly.
RATE_LIMITED_RETRY_SECONDS = 2
# What Stripe answers to a request it will not start: retrying the same request cannot help.
REFUSALS = (
    stripe.InvalidRequestError,
    stripe.AuthenticationError,
    stripe.PermissionError,
    stripe.IdempotencyError,
)
# An off-session charge refused for one of these names the pledger's card, not our request.
CARD_PARAMS = ("payment_method", "customer")


def _gateway_error(error: stripe.StripeError) -> GatewayError:
    message = str(error.user_message or error) or type(error).__name__
    if isinstance(error, stripe.RateLimitError):  # nothing created; the same request may retry
        return GatewayBusy(message, retry_after=RATE_LIMITED_RETRY_SECONDS)
    if isinstance(error, REFUSALS):
        logger.error("Stripe refused a request: %s", message)
        return GatewayRefused(message)
    return GatewayError(message)


def _call(func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except stripe.StripeError as error:
        raise _gateway_error(error) from error


def _field(obj: Any, name: str) -> Any:
    if obj is None or isinstance(obj, str):
        return None
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
