"""What the gateway answers: plain values in `Money`, never Stripe objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from djmoney.money import Money


class GatewayError(Exception):
    """Stripe could not be reached or refused the request; nothing was charged."""


class GatewayRefused(GatewayError):
    """Stripe refused the request itself (a parameter, the API key or version, a reused
    idempotency key): our bug or our configuration, never the donor's card. Nothing was charged,
    and the same request will be refused again until the code or the settings are fixed."""


class GatewayBusy(GatewayError):
    """Stripe refused the request for its rate limit (HTTP 429): nothing was created or charged,
    and the same request (same idempotency key) may be sent again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SignatureError(Exception):
    """A webhook payload whose signature does not verify."""


@dataclass(frozen=True)
class CheckoutRedirect:
    session_id: str
    url: str


@dataclass(frozen=True)
class CheckoutResult:
    """The parts of a Checkout Session (or demo payment) that fulfilment needs."""

    session_id: str
    payment_status: str  # "paid", "unpaid" or "no_payment_required"
    amount_total: Money | None
    currency: str
    donation_ref: str = ""  # our Donation.public_id, from client_reference_id
    payment_intent_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SetupResult:
    """The parts of a completed setup-mode Checkout Session that a pledge needs."""

    session_id: str
    complete: bool
    pledge_ref: str
    customer_id: str
    payment_method_id: str
    setup_intent_id: str


@dataclass(frozen=True)
class OffSessionCharge:
    """What Stripe answered to an off-session charge.

    `status`: "succeeded" (or "processing"), "authentication_required" (the bank wants the
    cardholder: SCA), or "declined" (card declined, expired, detached...). Network failures and
    Stripe's own errors raise `GatewayError` instead: those are retried with the same key. A
    request Stripe refuses for its form raises `GatewayRefused`: it is never a decline.
    """

    status: str
    payment_intent_id: str
    message: str = ""


@dataclass(frozen=True)
class ChargeFee:
    charge_id: str
    fee: Money | None  # None while Stripe has no balance transaction for the charge yet


@dataclass(frozen=True)
class ChargeRefund:
    """A charge's refunds as `charge.refunded` reports them: Stripe's cumulative figure."""

    payment_intent_id: str
    charge_id: str
    donation_ref: str
    currency: str
    amount_refunded: Money


@dataclass(frozen=True)
class RefundUpdate:
    """One refund's new status (`refund.updated`, `refund.failed`, `charge.refund.updated`)."""

    refund_id: str
    status: str
    donation_ref: str
    payment_intent_id: str
    failure_reason: str


@dataclass(frozen=True)
class Dispute:
    dispute_id: str
    payment_intent_id: str
    charge_id: str
    status: str  # Stripe's: "needs_response", "won", "lost", "warning_closed"...
    amount: Money | None = None  # the dispute's own amount (may be part of the charge)
    currency: str = ""
    # From the dispute's balance transactions (funds withdrawn, then maybe reinstated): what Stripe
    # holds now, and the dispute fees net of any returned. None when the object has no such list.
    withdrawn: Money | None = None
    fee: Money | None = None


@dataclass(frozen=True)
class Invoice:
    """One invoice of a monthly gift's subscription (`invoice.*` events, or fetched).

    `monthly_ref` is our `MonthlyGift.public_id`, from the subscription's metadata that Stripe
    copies onto the invoice (`parent.subscription_details.metadata`). `payment_intent_id` and
    `charge_id` come from the invoice's `payments`, empty when the payload does not include them.
    """

    invoice_id: str
    subscription_id: str
    customer_id: str
    monthly_ref: str
    status: str  # "draft", "open", "paid", "uncollectible", "void"
    amount_paid: Money
    amount_due: Money
    currency: str
    billing_reason: str  # "subscription_create", "subscription_cycle", ...
    attempt_count: int
    period_end: int | None  # Unix time the paid month ends, from the subscription line
    payment_intent_id: str = ""
    charge_id: str = ""
    hosted_invoice_url: str = ""
    next_payment_attempt: int | None = None


@dataclass(frozen=True)
class Subscription:
    """A monthly gift's subscription as Stripe reports it (`customer.subscription.*`)."""

    subscription_id: str
    customer_id: str
    monthly_ref: str
    status: str  # Stripe's: "active", "past_due", "canceled", "incomplete", "unpaid"...
    cancel_at_period_end: bool
    current_period_end: int | None
    item_id: str = ""
    price_id: str = ""  # a new one at each amount change (inline price_data)
    product_id: str = ""
    unit_amount: Money | None = None


@dataclass(frozen=True)
class SubscriptionCheckout:
    """A completed subscription-mode Checkout Session: which subscription our gift became."""

    session_id: str
    monthly_ref: str
    subscription_id: str
    customer_id: str
    invoice_id: str
    payment_status: str
    complete: bool


@dataclass(frozen=True)
class CardUpdate:
    """A completed setup-mode session that replaces a monthly gift's card."""

    session_id: str
    monthly_ref: str
    subscription_id: str
    setup_intent_id: str
    payment_method_id: str = ""
