"""A local HTTP server speaking Stripe's wire format, for tests and benchmarks: the real SDK talks
to it (`STRIPE_API_BASE`), and `sign` signs webhooks with Stripe's scheme.

As strict as Stripe: each request is checked against the pinned SDK's generated parameter types
for its endpoint (`contract.ENDPOINTS`, read at run time), recursively; unknown or missing
parameters, bad integers, booleans and enum values, unknown endpoints, an API version other than
`API_VERSION` and an idempotency key reused with other parameters get Stripe's own errors. Each
refusal is kept in `StripeFake.rejections` (and `server.REJECTIONS` for the whole process), and
the test suite fails a test that caused one unless it is marked `stripe_rejects`.

Adding an endpoint: one row in `contract.ENDPOINTS` (method, path pattern, params class name in
`stripe.params`) and its handler in a mixin's `*_route`. Until the row exists, the fake answers
404 "Unrecognized request URL" like Stripe.
"""

from testing.stripe_fake.server import API_VERSION, Rejection, StripeFake
from testing.stripe_fake.wire import sign, stripe_fee_cents

__all__ = ["API_VERSION", "Rejection", "StripeFake", "sign", "stripe_fee_cents"]
