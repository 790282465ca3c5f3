"""A local HTTP server speaking Stripe's wire format, for tests and benchmarks: the real SDK talks
to it (`STRIPE_API_BASE`), and `sign` signs webhooks with Stripe's scheme."""

from testing.stripe_fake.server import API_VERSION, StripeFake
from testing.stripe_fake.wire import sign, stripe_fee_cents

__all__ = ["API_VERSION", "StripeFake", "sign", "stripe_fee_cents"]
